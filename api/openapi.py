"""GET /api/v1/openapi.json: OpenAPI 3.1 built from the endpoint registry and the models."""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify
from flask.wrappers import Response
from pydantic import BaseModel

from api.core import REGISTRY, EndpointDoc, Problem, bp, endpoint

ERROR_STATUSES = {
    400: "Malformed request",
    401: "Missing or invalid credentials",
    403: "Not allowed for this role",
    404: "No such object (or not yours)",
    409: "Conflict with the current state",
    422: "Validation failed",
    429: "Rate limited",
    503: "This server cannot serve the request now",
}


def _component_name(model: type[BaseModel]) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", model.__name__).strip("_")


def _schema_ref(model: type[BaseModel], mode: str, components: dict[str, Any]) -> dict[str, str]:
    name = _component_name(model)
    if name not in components:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)  # type: ignore[arg-type]
        for def_name, definition in schema.pop("$defs", {}).items():
            components.setdefault(def_name, definition)
        components[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule):
        kind = {"int": "integer"}.get(converter or "", "string")
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": kind}})
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", bp.url_prefix + rule), params


def _operation(doc: EndpointDoc, components: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    path, params = _path(doc.rule)
    params += [
        {"name": name, "in": "query", "required": False, "schema": {"type": kind}}
        for name, kind in doc.query.items()
    ]
    problem = {
        "application/problem+json": {"schema": _schema_ref(Problem, "serialization", components)}
    }
    success: dict[str, Any] = {"description": "OK"}
    if doc.response is not None:
        success["content"] = {
            "application/json": {"schema": _schema_ref(doc.response, "serialization", components)}
        }
    responses: dict[str, Any] = {str(doc.status): success}
    statuses = [400, 422] if doc.body else []
    if doc.query:
        statuses.append(422)  # a filter or page number out of range
    if doc.roles is not None:
        statuses += [401, 403, 404, 409]
    else:
        statuses += [404, 409] + ([401] if doc.signed else [])
    # Any operation may meet a rate limit (sign-in, resending, public pages) or a node that
    # cannot serve it (readiness failing, no signing key here).
    statuses += [429, 503]
    for status in sorted(set(statuses)):
        responses[str(status)] = {"description": ERROR_STATUSES[status], "content": problem}
    slug = re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_")
    op: dict[str, Any] = {
        "summary": doc.summary,
        "operationId": f"{doc.method.lower()}_{slug}",
        "tags": [doc.tag],
        "parameters": params,
        "responses": responses,
    }
    if doc.roles is not None:
        op["security"] = [{"bearer": []}]
        op["description"] = "Roles: " + ", ".join(sorted(doc.roles))
    if doc.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": _schema_ref(doc.body, "validation", components)}
            },
        }
    return path, op


def build_spec() -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for doc in REGISTRY:
        path, op = _operation(doc, components)
        paths.setdefault(path, {})[doc.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Logistics pass and checkpoint API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@endpoint("/openapi.json", "GET", summary="This document (OpenAPI 3.1)", tag="meta")
def openapi(_user: None) -> Response:
    return jsonify(build_spec())
