"""The OpenAPI document of a create_app service: bearer scheme, stable ids, declared errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.auth import AuthenticatedUser, CurrentUser, require_roles
from spaps_server_quickstart.auth.local import mint_dev_token
from spaps_server_quickstart.settings import BaseServiceSettings

SECRET = "openapi-test-secret"


def orders_router() -> APIRouter:
    router = APIRouter(prefix="/orders", tags=["orders"])

    @router.get("")
    async def list_orders(user: CurrentUser) -> list[str]:
        return [user.user_id]

    @router.delete("/{order_id}")
    async def delete_order(
        order_id: int,
        admin: Annotated[AuthenticatedUser, Depends(require_roles("admin"))],
    ) -> dict[str, int]:
        return {"deleted": order_id}

    return router


def plain_router() -> APIRouter:
    """Routes without auth dependencies: the middleware still guards all but the webhook."""
    router = APIRouter()

    @router.get("/version")
    async def read_version() -> dict[str, str]:
        return {"version": "1"}

    @router.post("/hooks/billing")
    async def billing_hook() -> dict[str, bool]:
        return {"ok": True}

    return router


def build(tmp_path: Path, **settings: Any) -> FastAPI:
    return create_app(
        settings=BaseServiceSettings(
            service_name="orders",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
            auth_local_secret=SECRET,
            auth_public_paths=["/health/live", "/docs", "/openapi.json", "POST /hooks/billing"],
            **settings,
        ),
        routers=[orders_router(), plain_router()],
    )


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return build(tmp_path)


def document(app: FastAPI) -> dict[str, Any]:
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def test_the_bearer_scheme_is_declared(app: FastAPI) -> None:
    schemes = document(app)["components"]["securitySchemes"]

    assert list(schemes) == ["SpapsBearer"]
    assert schemes["SpapsBearer"]["type"] == "http"
    assert schemes["SpapsBearer"]["scheme"] == "bearer"


def test_operation_ids_are_tag_and_function(app: FastAPI) -> None:
    ids = {
        (method, path): operation["operationId"]
        for path, operations in document(app)["paths"].items()
        for method, operation in operations.items()
    }

    assert ids == {
        ("get", "/orders"): "orders_list_orders",
        ("delete", "/orders/{order_id}"): "orders_delete_order",
        ("get", "/version"): "read_version",
        ("post", "/hooks/billing"): "billing_hook",
        ("get", "/health/live"): "health_live",
        ("get", "/health/ready"): "health_ready",
    }
    # FastAPI's own ids end in the path and the method (read_meta_meta_get).
    assert not [value for value in ids.values() if re.search(r"_(get|post|delete)$", value)]


def test_protected_operations_carry_security_and_their_errors(app: FastAPI) -> None:
    paths = document(app)["paths"]
    expected = [
        ("get", "/orders", []),
        ("delete", "/orders/{order_id}", ["admin"]),  # OpenAPI 3.1: role names as the scopes
        ("get", "/version", []),
    ]

    for method, path, roles in expected:
        operation = paths[path][method]
        assert operation["security"] == [{"SpapsBearer": roles}], path
        assert {"401", "503"} <= set(operation["responses"]), path
        unauthorized = operation["responses"]["401"]
        assert unauthorized["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorDetail"
        }
        assert "WWW-Authenticate" in unauthorized["headers"]
    assert "403" in paths["/orders/{order_id}"]["delete"]["responses"]
    assert "403" not in paths["/orders"]["get"]["responses"]


def test_public_operations_carry_no_security(app: FastAPI) -> None:
    paths = document(app)["paths"]

    for method, path in [("post", "/hooks/billing"), ("get", "/health/live")]:
        assert "security" not in paths[path][method], path
        assert "401" not in paths[path][method]["responses"], path


def test_readiness_declares_its_503_with_the_report_model(app: FastAPI) -> None:
    schema = document(app)
    responses = schema["paths"]["/health/ready"]["get"]["responses"]
    report = {"$ref": "#/components/schemas/ReadinessReport"}

    assert responses["200"]["content"]["application/json"]["schema"] == report
    assert responses["503"]["content"]["application/json"]["schema"] == report
    assert set(schema["components"]["schemas"]["ReadinessReport"]["properties"]) == {
        "status",
        "checks",
    }
    live = schema["paths"]["/health/live"]["get"]["responses"]["200"]
    assert live["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/LiveStatus"
    }


def test_a_request_through_the_declared_scheme_is_let_in(app: FastAPI) -> None:
    """What Swagger's "Authorize" does: build the header from the declared scheme."""
    user = mint_dev_token(SECRET, "usr_1")
    admin = mint_dev_token(SECRET, "adm_1", roles=["admin"])
    with TestClient(app) as client:
        scheme = client.get("/openapi.json").json()["components"]["securitySchemes"]
        declared = scheme["SpapsBearer"]["scheme"]

        def authorize(token: str) -> dict[str, str]:
            return {"Authorization": f"{declared} {token}"}

        assert client.get("/orders", headers=authorize(user)).json() == ["usr_1"]
        assert client.get("/orders").status_code == 401
        assert client.delete("/orders/7", headers=authorize(user)).status_code == 403
        assert client.delete("/orders/7", headers=authorize(admin)).json() == {"deleted": 7}


def test_without_the_middleware_current_user_still_declares_the_scheme(tmp_path: Path) -> None:
    app = build(tmp_path, auth_mode="disabled")
    paths = document(app)["paths"]

    assert paths["/orders"]["get"]["security"] == [{"SpapsBearer": []}]
    assert "401" in paths["/orders"]["get"]["responses"]
    # Nothing checks a token there, so nothing can be unavailable either.
    assert "503" not in paths["/orders"]["get"]["responses"]
    assert "security" not in paths["/version"]["get"]


def test_routes_added_after_create_app_are_covered(app: FastAPI) -> None:
    @app.get("/late", tags=["late"])
    async def late_route() -> dict[str, str]:
        return {}

    operation = document(app)["paths"]["/late"]["get"]
    assert operation["operationId"] == "late_late_route"
    assert operation["security"] == [{"SpapsBearer": []}]


def test_responses_a_service_declares_are_kept(tmp_path: Path) -> None:
    router = APIRouter()

    @router.get("/custom", responses={401: {"description": "ours"}})
    async def custom() -> dict[str, str]:
        return {}

    app = create_app(
        settings=BaseServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"),
        routers=[router],
    )
    schema = document(app)
    assert schema["paths"]["/custom"]["get"]["responses"]["401"]["description"] == "ours"
    # No route depends on current_user, yet the middleware guards /custom: the scheme is there.
    assert schema["components"]["securitySchemes"]["SpapsBearer"]["scheme"] == "bearer"
