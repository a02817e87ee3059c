"""The OpenAPI 3.1 document, generated from the route table's pydantic models.

Request bodies, query and path parameters and answers all come from the models the server
validates with; only the amount pattern is filled in here, for the ledger's currency.
"""

from collections.abc import Sequence
import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from tenant_ledger import __version__
from tenant_ledger.api.contract import PATH_PARAMETERS
from tenant_ledger.api.models import Error
from tenant_ledger.api.registry import Route
from tenant_ledger.billing.money import AmountSign, amount_pattern

_PATH_PARAMETER = re.compile(r"{(\w+)}")
_REF = "#/components/schemas/{model}"
_MEDIA_SCHEMAS: dict[str, dict[str, Any]] = {
    "text/csv": {"type": "string"},
    "application/pdf": {"type": "string", "contentMediaType": "application/pdf"},
}


def _refusal(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}},
    }


def _parameters(route: Route) -> list[dict[str, Any]]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_PARAMETERS[name].json_schema(),
        }
        for name in _PATH_PARAMETER.findall(route.path)
    ]
    if route.query is not None:
        schema = route.query.model_json_schema(by_alias=True)
        required = set(schema.get("required", ()))
        for name, declared in schema["properties"].items():
            field_schema = _present(declared)
            description = field_schema.pop("description", None)
            field_schema.pop("title", None)
            parameter = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": field_schema,
            }
            if description:
                parameter["description"] = description
            parameters.append(parameter)
    return parameters


def _present(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without the ``null`` of an optional field: a parameter is
    absent or has a value (``?limit=null`` is the text "null")."""
    alternatives: list[dict[str, Any]] = [
        option for option in schema.get("anyOf", ()) if option.get("type") != "null"
    ]
    if len(alternatives) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    return alternatives[0] | rest


def _operation(route: Route, names: dict[tuple[Any, str], str]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for answer in route.responses:
        content = {
            media_type: {"schema": _MEDIA_SCHEMAS[media_type]} for media_type in answer.media_types
        }
        if answer.model is not None:
            ref = _REF.format(model=names[(answer.model, "serialization")])
            content = {"application/json": {"schema": {"$ref": ref}}} | content
        responses[str(answer.status)] = {"description": answer.description} | (
            {"content": content} if content else {}
        )
    parameters = _parameters(route)
    # Any request can be malformed: a header that is not HTTP is refused before the routes.
    responses["400"] = _refusal("the request is malformed; see error.message")
    if route.role is not None:
        responses["401"] = _refusal("no valid API token")
        responses["403"] = _refusal("the token's role is too low")
    responses["404"] = _refusal("something the request names does not exist")
    if route.method != "GET":
        responses["409"] = _refusal("the ledger's state forbids it (already exists, posted, …)")
    if route.body is not None:
        responses["413"] = _refusal("the body is larger than the ledger accepts")
    responses["503"] = _refusal("the ledger is read-only or cannot store readings")
    operation: dict[str, Any] = {
        "operationId": route.handler.__name__,
        "summary": route.summary,
        "tags": [route.tag],
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if route.role is None:
        operation["security"] = []
    else:
        operation["description"] = f"Needs a token with the {route.role} role or higher."
    if route.body is not None:
        ref = _REF.format(model=names[(route.body, "validation")])
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": ref}}},
        }
    return operation


def _fill_amounts(node: Any, currency: str) -> None:
    """Give every ``x-amount`` schema the pattern of its sign in the ledger's currency."""
    if isinstance(node, dict):
        if "x-amount" in node:
            node["pattern"] = amount_pattern(currency, AmountSign(node["x-amount"]))
            node["description"] = (
                f"{currency} amount as a decimal string (ASCII digits, at most one point)"
            )
        for child in node.values():
            _fill_amounts(child, currency)
    elif isinstance(node, list):
        for child in node:
            _fill_amounts(child, currency)


def openapi_document(routes: Sequence[Route], currency: str) -> dict[str, Any]:
    """The document for ``routes`` with amounts in ``currency``."""
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = {(Error, "serialization")}
    for route in routes:
        if route.body is not None:
            models.add((route.body, "validation"))
        models.update((answer.model, "serialization") for answer in route.responses if answer.model)
    ordered = sorted(models, key=lambda item: (item[0].__name__, item[1]))
    keys, schemas = models_json_schema(ordered, ref_template=_REF)
    names: dict[tuple[Any, str], str] = {
        key: value["$ref"].rsplit("/", 1)[1] for key, value in keys.items()
    }
    components = schemas.get("$defs", {})
    _fill_amounts(components, currency)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, names)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tenant Metering Ledger", "version": __version__},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": components,
        },
    }
