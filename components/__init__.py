"""Pulumi components of maya-infra: one module per platform (Railway is its own subpackage)."""
