"""A minimal protected FastAPI app for the auth tests.

It wires the auth service exactly as the runtime's lifespan does (service created in the
lifespan, yielded as state ``"auth"``, closed on shutdown) without depending on ``create_app``,
so these tests pin the auth contract on their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, WebSocket
from spaps_server_quickstart.auth import (
    AuthenticatedUser,
    CurrentUser,
    SpapsAuthMiddleware,
    create_auth_service,
    require_roles,
)
from spaps_server_quickstart.request_context import user_id_var
from spaps_server_quickstart.settings import BaseServiceSettings

PUBLIC_PATHS = ("/health",)


def build_protected_app(
    settings: BaseServiceSettings,
    *,
    public_paths: Iterable[str] = PUBLIC_PATHS,
    **fastapi_options: Any,
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        service = create_auth_service(settings)
        try:
            yield {"auth": service}
        finally:
            if service is not None:
                await service.aclose()

    app = FastAPI(lifespan=lifespan, **fastapi_options)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health-x")
    async def health_lookalike() -> dict[str, str]:
        return {"status": "private"}

    @app.get("/health/{rest:path}")
    async def health_subpath(rest: str) -> dict[str, str]:
        return {"status": "private", "rest": rest}

    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return {
            "user_id": user.user_id,
            "roles": sorted(user.roles),
            "bound_user_id": user_id_var.get(),
        }

    @app.get("/admin")
    async def admin(
        user: Annotated[AuthenticatedUser, Depends(require_roles("admin"))],
    ) -> dict[str, str]:
        return {"admin": user.user_id}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        user = websocket.scope["state"]["user"]
        await websocket.send_json({"user_id": user.user_id})
        await websocket.close()

    app.add_middleware(SpapsAuthMiddleware, public_paths=public_paths)
    return app
