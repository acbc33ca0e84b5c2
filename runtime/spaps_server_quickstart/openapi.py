"""The OpenAPI document says what the app enforces: who needs a token, and how requests fail.

Authentication happens in :class:`~spaps_server_quickstart.auth.middleware.SpapsAuthMiddleware`,
which FastAPI's schema generator cannot see: left alone, the document shows no security scheme,
Swagger's "Authorize" button does nothing, and a client generated from it never sends a token.
So after FastAPI builds the document, :func:`install_openapi` marks every operation the
middleware protects (or that depends on :func:`~spaps_server_quickstart.auth.current_user`) with
the bearer scheme and the answers the runtime gives it: 401 (no or bad token), 403 (a role from
:func:`~spaps_server_quickstart.auth.require_roles` is missing) and 503 (SPAPS unreachable).

Operation ids are ``<first tag>_<route name>`` (:func:`operation_id`): generated clients get
``meta_read_meta`` instead of FastAPI's ``read_meta_meta_get``, and the id survives a path change.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from .auth.dependencies import BEARER_SCHEME_NAME, bearer_scheme

_NOT_A_WORD = re.compile(r"\W+")


class ErrorDetail(BaseModel):
    """The body of every error the runtime answers itself (FastAPI's ``HTTPException`` shape)."""

    detail: str


def operation_id(route: APIRoute) -> str:
    """``<first tag>_<route name>``, or the route name for an untagged route.

    The route name is the endpoint function's name unless ``name=`` says otherwise; the tag
    keeps two domains' ``list_items`` apart.
    """
    tags = [str(tag) for tag in route.tags]
    parts = [tags[0], route.name] if tags else [route.name]
    return _NOT_A_WORD.sub("_", "_".join(parts)).strip("_")


def _error(description: str, *, challenge: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}},
    }
    if challenge:
        response["headers"] = {
            "WWW-Authenticate": {
                "description": 'the bearer challenge, e.g. Bearer realm="spaps", error="..."',
                "schema": {"type": "string"},
            }
        }
    return response


def _bearer_roles(operation: dict[str, Any]) -> frozenset[str] | None:
    """The roles the operation's bearer requirement names; ``None`` if it declares none.

    FastAPI writes the requirement from the dependencies: :func:`current_user` gives
    ``{"SpapsBearer": []}``, :func:`require_roles` the role names as the scheme's scopes.
    """
    roles: set[str] | None = None
    for requirement in operation.get("security", ()):
        if BEARER_SCHEME_NAME in requirement:
            roles = (roles or set()) | set(requirement[BEARER_SCHEME_NAME])
    return None if roles is None else frozenset(roles)


def declare_auth(
    schema: dict[str, Any], *, public_routes: frozenset[tuple[str, str]] | None
) -> None:
    """Add the bearer scheme and the auth answers to ``schema``'s protected operations.

    ``public_routes`` is what the auth middleware lets through (``None`` when the app has no
    auth middleware: then only operations depending on ``current_user`` are protected).
    Responses and ``security`` the service declared itself are kept.
    """
    protected_any = False
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            roles = _bearer_roles(operation)
            behind_middleware = (
                public_routes is not None and (method.upper(), path) not in public_routes
            )
            if roles is None and not behind_middleware:
                continue
            protected_any = True
            operation.setdefault("security", [{BEARER_SCHEME_NAME: []}])
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "401", _error("No bearer token, or an invalid or expired one", challenge=True)
            )
            if roles:
                responses.setdefault(
                    "403",
                    _error(
                        f"The caller lacks a required role: {', '.join(sorted(roles))}",
                        challenge=True,
                    ),
                )
            if behind_middleware:
                responses.setdefault(
                    "503", _error("The token could not be checked (SPAPS unavailable); retry")
                )
    if not protected_any:
        return
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {}).setdefault(
        BEARER_SCHEME_NAME,
        bearer_scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True),
    )
    components.setdefault("schemas", {}).setdefault(
        "ErrorDetail", ErrorDetail.model_json_schema(ref_template="#/components/schemas/{model}")
    )


def install_openapi(app: FastAPI, *, public_routes: frozenset[tuple[str, str]] | None) -> None:
    """Make ``app.openapi()`` run :func:`declare_auth` on the document FastAPI builds.

    Lazily, when the document is first asked for, so routes added after ``create_app`` are
    covered too.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        declare_auth(schema, public_routes=public_routes)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
