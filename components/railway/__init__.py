"""Railway: a GraphQL client, dynamic providers and the backend component.

Importing this package has no side effects: the provider process (``python -m pulumi.dynamic``)
imports ``components.railway.provider`` to unpickle providers by reference.
"""
