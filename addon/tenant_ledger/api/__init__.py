"""The REST API: routes described once, served by aiohttp and documented as OpenAPI 3."""
