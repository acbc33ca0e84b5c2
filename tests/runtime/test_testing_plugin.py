"""The pytest plugin, exercised the way a service uses it: a generated mini-service whose own
test suite runs in a separate ``pytest`` process (the plugin loads through its entry point)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from spaps_server_quickstart.testing.services import (
    create_temporary_database,
    drop_temporary_database,
)

SERVICE_FILES = {
    "pyproject.toml": """
        [tool.pytest.ini_options]
        spaps_app = "svc_app:create_app"
        spaps_settings = "svc_settings:get_settings"
        spaps_celery_app = "svc_worker:celery_app"
        addopts = "-p no:cacheprovider"
    """,
    "svc_settings.py": """
        from spaps_server_quickstart.settings import BaseServiceSettings, create_settings_loader

        class Settings(BaseServiceSettings):
            greeting: str = "hi"

        get_settings = create_settings_loader(Settings)
    """,
    "svc_app.py": """
        from contextlib import asynccontextmanager
        from typing import Annotated
        from fastapi import Depends, FastAPI
        from spaps_server_quickstart.auth import (
            AuthenticatedUser, CurrentUser, SpapsAuthMiddleware, create_auth_service, require_roles,
        )
        from svc_settings import get_settings

        def create_app() -> FastAPI:
            settings = get_settings()

            @asynccontextmanager
            async def lifespan(app):
                service = create_auth_service(settings)
                try:
                    yield {"auth": service}
                finally:
                    await service.aclose()

            app = FastAPI(lifespan=lifespan)

            @app.get("/greeting")
            async def greeting() -> dict:
                return {"greeting": settings.greeting}

            @app.get("/me")
            async def me(user: CurrentUser) -> dict:
                return {"user_id": user.user_id, "roles": sorted(user.roles)}

            @app.get("/admin")
            async def admin(user: Annotated[AuthenticatedUser, Depends(require_roles("admin"))]) -> dict:
                return {"ok": True}

            app.add_middleware(SpapsAuthMiddleware, public_paths=["/greeting"])
            return app
    """,
    "svc_worker.py": """
        from spaps_server_quickstart.tasks import create_celery_app, create_ping_task
        from svc_settings import get_settings

        celery_app = create_celery_app(get_settings())
        ping = create_ping_task(celery_app)
    """,
    "conftest.py": """
        import os
        import pytest

        @pytest.fixture
        def spaps_settings_overrides(spaps_settings_overrides):
            return {**spaps_settings_overrides, "database_url": os.environ["SVC_DATABASE_URL"]}
    """,
    "test_service.py": """
        import pytest
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine
        from spaps_server_quickstart.request_context import request_id_var
        from svc_settings import get_settings

        def test_tokens_and_roles(client, user_headers, admin_headers):
            assert client.get("/me").status_code == 401
            assert client.get("/me", headers=user_headers).json() == {
                "user_id": "test-user", "roles": ["user"]}
            assert client.get("/admin", headers=user_headers).status_code == 403
            assert client.get("/admin", headers=admin_headers).status_code == 200

        def test_settings_override_reaches_the_loader_and_the_app(settings_override, app_factory):
            from fastapi.testclient import TestClient
            settings_override(greeting="hello", auth_admin_user_ids=["a", "b"])
            assert get_settings().greeting == "hello"
            assert get_settings().auth_admin_user_ids == ["a", "b"]
            with TestClient(app_factory()) as client:
                assert client.get("/greeting").json() == {"greeting": "hello"}

        def test_overrides_are_undone_after_each_test(spaps_settings):
            assert spaps_settings.greeting == "hi"
            assert spaps_settings.env == "test"
            assert spaps_settings.auth_mode == "local"

        @pytest.mark.anyio
        async def test_db_session_sees_its_own_commits_but_nobody_else_does(db_session, spaps_settings):
            await db_session.execute(text("INSERT INTO note (body) VALUES ('kept?')"))
            await db_session.commit()
            assert (await db_session.execute(text("SELECT count(*) FROM note"))).scalar() == 1
            engine = create_async_engine(spaps_settings.database_url.get_secret_value())
            try:
                async with engine.connect() as other:
                    assert (await other.execute(text("SELECT count(*) FROM note"))).scalar() == 0
            finally:
                await engine.dispose()

        @pytest.mark.anyio
        async def test_db_session_rolled_back_the_previous_test(db_session):
            assert (await db_session.execute(text("SELECT count(*) FROM note"))).scalar() == 0

        def test_celery_worker_runs_the_services_tasks(celery_worker):
            from svc_worker import ping
            token = request_id_var.set("req-plugin")
            try:
                result = ping.delay().get(timeout=15, interval=0.05)
            finally:
                request_id_var.reset(token)
            assert result["request_id"] == "req-plugin"

        def test_spaps_standin_fixture(spaps_standin):
            token = spaps_standin.register_admin("x")
            assert spaps_standin.url.startswith("http://127.0.0.1:")
            assert spaps_standin.calls() == 0
    """,
}


def write_project(root: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        (root / name).write_text(textwrap.dedent(content).lstrip())


def run_pytest(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:warnings", *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.services
def test_a_service_test_suite_using_every_fixture(tmp_path: Path) -> None:
    database = create_temporary_database("spaps_plugin")
    try:
        import anyio
        import asyncpg

        async def create_table() -> None:
            connection = await asyncpg.connect(
                database.url.replace("postgresql+asyncpg", "postgresql")
            )
            try:
                await connection.execute("CREATE TABLE note (id serial PRIMARY KEY, body text)")
            finally:
                await connection.close()

        anyio.run(create_table)
        write_project(tmp_path, SERVICE_FILES)
        result = run_pytest(tmp_path, env={"SVC_DATABASE_URL": database.url})
    finally:
        drop_temporary_database(database)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout


def test_projects_that_do_not_use_the_plugin_are_unaffected(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "test_plain.py": """
                def test_plain():
                    assert 1 + 1 == 2
            """,
            "test_misconfigured.py": """
                def test_needs_an_app(client):
                    pass
            """,
        },
    )
    result = run_pytest(tmp_path, "test_plain.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    misconfigured = run_pytest(tmp_path, "test_misconfigured.py")
    assert misconfigured.returncode != 0
    assert "spaps_app" in misconfigured.stdout + misconfigured.stderr


def test_plugin_module_imports_cheaply() -> None:
    probe = (
        "import sys, spaps_server_quickstart.testing.plugin\n"
        "heavy = [m for m in ('fastapi', 'sqlalchemy', 'celery', 'uvicorn', 'httpx', 'starlette')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""
