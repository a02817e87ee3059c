"""The ledger's aiohttp application."""

from aiohttp import web

from tenant_ledger import __version__


async def health(_request: web.Request) -> web.Response:
    """Liveness probe for the Supervisor watchdog, the integration and the demo."""
    return web.json_response({"status": "ok", "version": __version__})


def create_app() -> web.Application:
    """Build the web application with every route mounted."""
    app = web.Application()
    app.router.add_get("/api/health", health)
    return app
