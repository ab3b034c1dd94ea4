"""The operator's entry point of maya-infra: ``python -m ops <command>``.

Each group of subcommands lives in its own module (``ops/render.py`` …) that exposes ``register(subparsers)``;
``ops/__main__.py`` lists the modules. A new group is a new module plus one line there.
"""
