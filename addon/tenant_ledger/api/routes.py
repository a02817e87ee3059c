"""Every API route, registered by its resource module into the one table ``ROUTES``.

The same table mounts the routes on aiohttp and writes the OpenAPI document, so the document
cannot drift from what the server accepts.
"""

from tenant_ledger.api import (  # noqa: F401  (each module registers its routes on import)
    access,
    health,
    leaks,
    payments,
    readings,
    reports,
    statements,
    tariffs,
    tenancy,
    tenants,
)
from tenant_ledger.api.registry import ROUTES, Call, Route

__all__ = ["ROUTES", "Call", "Route"]
