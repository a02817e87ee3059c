"""The OpenAPI 3 document, written from the route table."""

from collections.abc import Sequence
import re
from typing import Any

from tenant_ledger import __version__
from tenant_ledger.api.fields import body_schema
from tenant_ledger.api.routes import Route

_PATH_PARAMETER = re.compile(r"{(\w+)}")

_ERROR = {
    "description": "refused; see error.code",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _operation(route: Route) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PATH_PARAMETER.findall(route.path)
        ],
        "responses": {
            str(route.status): {"description": "done", "content": {"application/json": {}}},
            "400": _ERROR,
            "401": _ERROR,
            "403": _ERROR,
            "404": _ERROR,
            "409": _ERROR,
        },
    }
    if route.role is None:
        operation["security"] = []
    else:
        operation["description"] = f"Needs a token with the {route.role} role or higher."
    if route.fields:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body_schema(route.fields)}},
        }
    elif route.raw_body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readings"}}},
        }
    return operation


def openapi_document(routes: Sequence[Route]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Tenant Metering Ledger", "version": __version__},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                },
                "Readings": {
                    "type": "object",
                    "required": ["readings"],
                    "properties": {
                        "readings": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["point", "ts", "energy_wh"],
                                "properties": {
                                    "point": {"type": "string"},
                                    "ts": {"type": "integer", "description": "epoch seconds"},
                                    "energy_wh": {"type": "integer", "minimum": 0},
                                    "seq": {"type": "integer"},
                                },
                            },
                        }
                    },
                },
            },
        },
    }
