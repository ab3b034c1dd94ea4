"""The Railway dynamic providers, by area, behind one base class (:mod:`.base`).

Import them through :mod:`components.railway.provider`, the path every state references.
"""
