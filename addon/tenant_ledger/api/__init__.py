"""The REST API: each route and its pydantic models described once, validated and served by
aiohttp, and documented from the same models as OpenAPI 3.1."""
