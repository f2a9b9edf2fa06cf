"""The REST API: the first start's setup, log in, the practice, users and rooms, patients and their rights, sessions
and utterances, documents.  Its OpenAPI schema is served at ``/openapi.json``
(built from the endpoints' docstrings) and described in ``docs/api.md``.

Every endpoint but login and the setup states the roles it serves (:func:`authorized`);
everything is scoped to the caller's clinic, and every read, export,
rectification and erasure of patient data is written to the audit trail.
Responses are never cached (``Cache-Control: private, no-store``).

One module per resource: :mod:`.setup`, :mod:`.auth`, :mod:`.users` (the practice, users and rooms),
:mod:`.patients`, :mod:`.sessions`, :mod:`.documents`; what they share is in
:mod:`.common`.  The endpoints read the server through ``services(request)``
and the database through :mod:`chairside.store` only.
"""

from __future__ import annotations

from starlette.routing import Route

from . import auth, documents, patients, sessions, setup, users


def api_routes() -> list[Route]:
    """The REST API's routes, in the order Starlette tries them."""
    return [
        Route("/v1/setup", setup.setup_state, methods=["GET"]),
        Route("/v1/setup", setup.set_up, methods=["POST"]),
        Route("/v1/auth/login", auth.login, methods=["POST"]),
        Route("/v1/auth/refresh", auth.refresh, methods=["POST"]),
        Route("/v1/auth/logout", auth.logout, methods=["POST"]),
        Route("/v1/auth/password", auth.change_password, methods=["POST"]),
        Route("/v1/me", auth.me, methods=["GET"]),
        Route("/v1/me", auth.update_me, methods=["PATCH"]),
        Route("/v1/practice", users.get_practice, methods=["GET"]),
        Route("/v1/practice", users.update_practice, methods=["PATCH"]),
        Route("/v1/users", users.list_users, methods=["GET"]),
        Route("/v1/users", users.create_user, methods=["POST"]),
        Route("/v1/users/{user_id}", users.disable_user, methods=["DELETE"]),
        Route("/v1/users/{user_id}", users.update_user, methods=["PATCH"]),
        Route("/v1/rooms", users.list_rooms, methods=["GET"]),
        Route("/v1/rooms", users.create_room, methods=["POST"]),
        Route("/v1/rooms/{room_id}", users.rename_room, methods=["PATCH"]),
        Route("/v1/patients", patients.list_patients, methods=["GET"]),
        Route("/v1/patients", patients.create_patient, methods=["POST"]),
        Route("/v1/patients/{patient_id}", patients.get_patient, methods=["GET"]),
        Route("/v1/patients/{patient_id}", patients.rectify_patient, methods=["PATCH"]),
        Route("/v1/patients/{patient_id}", patients.erase_patient, methods=["DELETE"]),
        Route("/v1/patients/{patient_id}/export", patients.export_patient, methods=["GET"]),
        Route("/v1/allergy-classes", patients.list_allergy_classes, methods=["GET"]),
        Route("/v1/sessions", sessions.list_sessions, methods=["GET"]),
        Route("/v1/sessions/{session_id}", sessions.get_session, methods=["GET"]),
        Route("/v1/sessions/{session_id}/utterances", sessions.session_utterances, methods=["GET"]),
        Route("/v1/documents", documents.list_documents, methods=["GET"]),
        Route("/v1/documents/{document_id}/rectify", documents.rectify_document, methods=["POST"]),
        # a document's PDF, preview, FHIR export and versions: after the routes above (Starlette matches in order)
        Route("/v1/documents/{document_id}.pdf", documents.document_pdf),
        Route("/v1/documents/{document_id}/preview.pdf", documents.preview_pdf),
        Route("/v1/documents/{document_id}/fhir", documents.document_fhir),
        Route("/v1/documents/{document_id}", documents.document_info),
    ]
