"""The OpenAPI schema: served without a token, valid OpenAPI 3, complete,
with each endpoint's roles, and the same as the table in docs/api.md."""

from __future__ import annotations

from pathlib import Path

import httpx
from openapi_spec_validator import validate
from starlette.routing import Route

from chairside.app import create_app
from chairside.openapi import markdown_table

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def test_the_schema_is_served_valid_and_complete(server):
    response = httpx.get(server.http + "/openapi.json", timeout=10)
    assert response.status_code == 200
    spec = response.json()
    validate(spec)
    for route in create_app().routes:
        if isinstance(route, Route):
            operations = spec["paths"][route.path]
            for method in route.methods - {"HEAD"}:
                operation = operations[method.lower()]
                roles = getattr(route.endpoint, "roles", None)
                if roles:
                    assert operation["x-roles"] == list(roles), route.path
                else:
                    assert operation["security"] == [], route.path  # public: health, the schema, login
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_docs_list_every_endpoint(server):
    spec = httpx.get(server.http + "/openapi.json", timeout=10).json()
    assert markdown_table(spec) in DOCS.read_text(), "docs/api.md is out of date: paste chairside.openapi.markdown_table()"
