"""``GET /openapi.json``: the OpenAPI 3 schema of the REST API, built from the
endpoints' docstrings (Starlette's schema generator), with the roles each
endpoint serves (``x-roles``) taken from the endpoints themselves, so the
schema cannot drift from what the server enforces.  WebSockets are described
in ``docs/protocol.md``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.schemas import SchemaGenerator

from . import __version__

_PATIENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "readOnly": True},
        "code": {"type": "string", "description": "the practice's patient code; generated when not given"},
        "last_name": {"type": "string"}, "first_name": {"type": "string"},
        "sex": {"type": "string", "enum": ["F", "M", "X"], "nullable": True},
        "birth_date": {"type": "string", "format": "date", "nullable": True},
        "weight_kg": {"type": "number", "nullable": True},
        # what a prescriber must check: never printed, in the documents' context and FHIR export
        "allergies": {"type": "array", "maxItems": 30, "items": {"type": "string", "minLength": 1, "maxLength": 100},
                      "description": "free text, one allergy an entry; known classes are recognised (GET /v1/allergy-classes)"},
        "allergy_classes": {"type": "array", "items": {"type": "string"}, "readOnly": True,
                            "description": "the known classes the allergies name, with the narrower ones a broad class includes"},
        "pregnancy_weeks": {"type": "integer", "minimum": 0, "maximum": 45, "nullable": True,
                            "description": "weeks of amenorrhoea; null: not pregnant (refused for sex M)"},
        "breastfeeding": {"type": "boolean"},
        "anticoagulant": {"type": "boolean", "description": "an anticoagulant treatment in progress"},
        "antiplatelet": {"type": "boolean", "description": "an antiplatelet treatment in progress"},
        "renal_failure": {"type": "string", "enum": ["moderate", "severe"], "nullable": True},
        "hepatic_failure": {"type": "string", "enum": ["moderate", "severe"], "nullable": True},
        "created_at": {"type": "string", "format": "date-time", "readOnly": True},
    },
}
_ALLERGY_CLASS = {
    "type": "object",
    "properties": {
        "key": {"type": "string", "description": "e.g. penicillin, nsaid, local-anaesthetic"},
        "fr": {"type": "string"}, "en": {"type": "string"},
        "terms": {"type": "array", "items": {"type": "string"}, "description": "what names the class or a member of it"},
        "includes": {"type": "array", "items": {"type": "string"}, "description": "narrower classes an allergy to this one covers"},
    },
}

BASE = {
    "openapi": "3.0.3",
    "info": {"title": "Chairside", "version": __version__,
             "description": "Real-time dental dictation: patients, sessions, utterances, documents. "
                            "Live audio and events are WebSockets (docs/protocol.md)."},
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "Login": {"type": "object", "required": ["email", "password"],
                      "properties": {"email": {"type": "string"}, "password": {"type": "string"}}},
            "Token": {"type": "object", "properties": {
                "token": {"type": "string"}, "token_type": {"type": "string", "enum": ["Bearer"]},
                "expires_in": {"type": "integer", "description": "seconds"},
                "user": {"type": "object", "properties": {"id": {"type": "string"}, "clinic_id": {"type": "string"},
                                                          "role": {"type": "string"}, "name": {"type": "string"},
                                                          "must_change_password": {"type": "boolean"}}}}},
            "NewUser": {"type": "object", "required": ["email", "name", "role", "password"], "properties": {
                "email": {"type": "string"}, "name": {"type": "string"},
                "role": {"type": "string", "enum": ["dentist", "assistant", "admin"]},
                "password": {"type": "string", "minLength": 12}, "rpps": {"type": "string"}, "phone": {"type": "string"},
                "temporary_password": {"type": "boolean", "default": True,
                                       "description": "the user must change it at their first login"}}},
            "Setup": {"type": "object", "required": ["practice", "admin", "dentist", "rooms"], "properties": {
                "code": {"type": "string", "description": "the setup code of the server's log (from another machine)"},
                "practice": {"type": "object", "required": ["name"], "properties": {
                    k: {"type": "string"} for k in ("name", "street", "postcode", "city", "phone", "email")}},
                "admin": {"type": "object", "required": ["name", "email", "password"], "properties": {
                    k: {"type": "string"} for k in ("name", "email", "password")}},
                "dentist": {"type": "object", "required": ["name", "email", "password", "rpps"], "properties": {
                    k: {"type": "string"} for k in ("name", "title", "rpps", "phone", "email", "password")}},
                "rooms": {"type": "array", "items": {"type": "string"}, "minItems": 1}}},
            "Patient": _PATIENT,
            "AllergyClass": _ALLERGY_CLASS,
            "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "string"}, "message": {"type": "string"}}}}},
        },
    },
}

_generator = SchemaGenerator(BASE)


def schema(routes: list) -> dict:
    result = _generator.get_schema(routes)
    for route in routes:
        roles = getattr(getattr(route, "endpoint", None), "roles", None)
        if isinstance(route, Route) and roles:
            for method in route.methods or ():
                operation = result["paths"].get(route.path, {}).get(method.lower())
                if operation is not None:
                    operation["x-roles"] = list(roles)
    return result


async def openapi(request: Request) -> JSONResponse:
    """
    summary: This schema.
    tags: [meta]
    security: []
    responses:
      200: {description: OpenAPI 3 schema}
    """
    return JSONResponse(schema(request.app.routes))


def markdown_table(spec: dict) -> str:
    """The endpoints table of ``docs/api.md`` (a test keeps the page in step)."""
    rows = ["| method | path | roles | what |", "| --- | --- | --- | --- |"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            roles = ", ".join(operation.get("x-roles", [])) or "anyone (no token)"
            rows.append(f"| {method.upper()} | `{path}` | {roles} | {operation.get('summary', '')} |")
    return "\n".join(rows)
