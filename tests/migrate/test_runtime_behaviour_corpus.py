"""Behaviour preservation of the runtime codemods over corpora of app shapes we wrote.

Each shape under ``behaviour_corpus/<codemod>/`` is a small module in the form a service keeps
it. It is run as written and as rewritten by the codemod, and must behave the same: the same
settings values under every environment it names (``ENVIRONMENTS``, an optional ``DOTENV`` in the
working directory), the same answers to the same requests. A shape that sets ``REFUSED`` must be
left unchanged with a follow-up containing that text.
"""

from __future__ import annotations

import os
import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from migrate.harness import transform
from spaps_cli.codemods.base import Codemod
from spaps_cli.codemods.settings_to_runtime import SettingsToRuntime

CORPUS = Path(__file__).parent / "behaviour_corpus"


def shapes(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("s*.py"))


def load_module(source: str, name: str, where: Path) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = str(where / f"{name}.py")
    sys.modules[name] = module
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
    finally:
        sys.modules.pop(name, None)
    return module


def migrated(path: Path, codemod: type[Codemod]) -> tuple[str, str, list[str], list[str]]:
    """(before, after, rewrites, follow-ups); a REFUSED shape must come back unchanged."""
    before = path.read_text(encoding="utf-8")
    after, fixed, follow_ups = transform(before, codemod)
    refused = _constant(before, "REFUSED")
    if refused is not None:
        assert after == before, "a refused shape must be left as it was"
        assert any(refused in message for message in follow_ups), follow_ups
    else:
        assert after != before, f"the codemod should have rewritten {path.stem}: {follow_ups}"
        assert fixed
    return before, after, fixed, follow_ups


def _constant(source: str, name: str) -> Any:
    import ast

    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
        ):
            return ast.literal_eval(node.value)
    return None


@contextmanager
def environment(values: dict[str, str], cwd: Path) -> Iterator[None]:
    """Exactly ``values`` as the process environment, ``cwd`` as the working directory."""
    saved = dict(os.environ)
    old_cwd = Path.cwd()
    os.environ.clear()
    os.environ.update(values)
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(saved)


# -- settings-to-runtime ---------------------------------------------------------------------


def _load_settings(module: types.ModuleType, fields: list[str]) -> dict[str, Any] | str:
    try:
        loaded = module.Settings()
    except Exception as exc:  # what a service sees at start-up
        # The runtime re-raises pydantic's ValidationError as its SettingsError (both
        # ValueErrors; the review note says so): "the settings do not load" either way.
        kind = type(exc).__name__
        return "fails: invalid settings" if kind in SETTINGS_ERRORS else f"fails: {kind}"
    return {name: getattr(loaded, name) for name in fields}


SETTINGS_ERRORS = frozenset({"ValidationError", "SettingsError"})


@pytest.mark.parametrize("path", shapes("settings"), ids=lambda p: p.stem)
def test_settings_shapes_load_the_same_values(path: Path, tmp_path: Path) -> None:
    before, after, _fixed, _follow = migrated(path, SettingsToRuntime)
    environments: dict[str, dict[str, str]] = _constant(before, "ENVIRONMENTS") or {}
    dotenv = _constant(before, "DOTENV")
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    for label, values in environments.items():
        with environment(values, tmp_path):
            old = load_module(before, f"{path.stem}_before", tmp_path)
            new = load_module(after, f"{path.stem}_after", tmp_path)
            fields = list(old.Settings.model_fields)
            assert _load_settings(new, fields) == _load_settings(old, fields), label


def test_settings_corpus_size() -> None:
    assert len(shapes("settings")) >= 10


# -- apps answering scripted requests ---------------------------------------------------------

_GENERATED_ID = re.compile(
    r"^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
_NUMBER = re.compile(r"^\d+(?:\.\d+)?(?:e-?\d+)?$")


def _client_view(key: str, value: str) -> str:
    """What a client can rely on in a header whose value differs on every run: that it is
    there, and its kind (a generated id, a number of seconds, a Server-Timing entry)."""
    if key == "content-length":
        return value
    if _GENERATED_ID.match(value):
        return "<generated id>"
    if _NUMBER.match(value):
        return "<number>"
    if value.startswith("app;dur="):
        return "<server-timing>"
    return value


def migrated_project(path: Path, codemod: type[Codemod]) -> tuple[str, str, list[str]]:
    """Through the runner's own path: the shape is the whole project (scan, prerequisites)."""
    from spaps_cli.codemods.config import MigrateConfig
    from spaps_cli.codemods.runner import migrate_source

    before = path.read_text(encoding="utf-8")
    migration = migrate_source(before.encode(), [codemod], MigrateConfig(), f"{path.stem}.py")
    after = migration.new_source.decode()
    follow_ups = [f.message for f in migration.findings if not f.auto_fixable]
    refused = _constant(before, "REFUSED")
    if refused is not None:
        assert after == before, "a refused shape must be left as it was"
        assert any(refused in message for message in follow_ups), follow_ups
    else:
        assert after != before, f"the codemod should have rewritten {path.stem}: {follow_ups}"
    return before, after, follow_ups


def answers(
    source: str, name: str, where: Path, env: dict[str, str], tokens: dict[str, str] | None = None
) -> list[tuple[str, str, int, dict[str, str], str]]:
    """Import the shape, start its app and send its REQUESTS: what a client would see.

    Header values may name ``{user}``/``{admin}``: the ``tokens`` the test registered.
    """
    from fastapi.testclient import TestClient

    saved = dict(os.environ)
    os.environ.update(env)
    sys.path.insert(0, str(where))
    try:
        module = load_module(source, name, where)
        seen: list[tuple[str, str, int, dict[str, str], str]] = []
        with TestClient(module.app, raise_server_exceptions=False) as client:
            for request in module.REQUESTS:
                method, url, *rest = request
                headers = {
                    k: v.format(**(tokens or {})) for k, v in (rest[0] if rest else {}).items()
                }
                response = client.request(method, url, headers=headers)
                kept = {
                    key: _client_view(key, value)
                    for key, value in response.headers.items()
                    if key != "date"
                }
                seen.append((method, url, response.status_code, kept, response.text))
        return seen
    finally:
        sys.path.remove(str(where))
        os.environ.clear()
        os.environ.update(saved)


# -- db-session-to-runtime -------------------------------------------------------------------


@pytest.mark.parametrize("path", shapes("db_session"), ids=lambda p: p.stem)
def test_db_session_shapes_answer_the_same(path: Path, tmp_path: Path) -> None:
    from spaps_cli.codemods.db_session_to_runtime import DbSessionToRuntime

    before, after, _ = migrated_project(path, DbSessionToRuntime)
    if _constant(before, "REFUSED") is not None:
        return
    runs = []
    for label, source in (("before", before), ("after", after)):
        url = f"sqlite+aiosqlite:///{tmp_path / label}.db"
        runs.append(
            answers(source, f"{path.stem}_{label}", path.parent, {"CORPUS_DATABASE_URL": url})
        )
    assert runs[1] == runs[0]


def test_db_session_corpus_size() -> None:
    assert len(shapes("db_session")) >= 10


# -- auth-to-runtime -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spaps() -> Iterator[dict[str, str]]:
    """A SPAPS stand-in with one user and one admin; the settings and tokens to reach it."""
    from spaps_server_quickstart.testing.spaps_standin import serve_spaps_standin

    with serve_spaps_standin() as standin:
        yield {
            "SPAPS_API_URL": standin.url,
            "SPAPS_API_KEY": standin.api_key,
            "SPAPS_APPLICATION_ID": standin.application_id,
            "user": standin.register_user("usr_1"),
            "admin": standin.register_admin("adm_1"),
        }


@pytest.mark.parametrize("path", shapes("auth"), ids=lambda p: p.stem)
def test_auth_shapes_answer_the_same(path: Path, spaps: dict[str, str]) -> None:
    """Successful answers match in full; refusals match in status (their bodies are the
    runtime's, which the report says)."""
    from spaps_cli.codemods.auth_to_runtime import AuthToRuntime

    before, after, _ = migrated_project(path, AuthToRuntime)
    if _constant(before, "REFUSED") is not None:
        return
    tokens = {"user": spaps["user"], "admin": spaps["admin"]}
    env = {key: value for key, value in spaps.items() if key.isupper()}
    runs = []
    for label, source in (("before", before), ("after", after)):
        seen = answers(source, f"{path.stem}_{label}", path.parent, env, tokens)
        runs.append(
            [
                (method, url, status, *((headers, body) if status < 400 else ()))
                for method, url, status, headers, body in seen
            ]
        )
    assert any(status < 400 for _m, _u, status, *_ in runs[0]), "the shape answered nothing"
    assert any(status >= 400 for _m, _u, status, *_ in runs[0]), "the shape refused nothing"
    assert runs[1] == runs[0]


def test_auth_corpus_size() -> None:
    assert len(shapes("auth")) >= 10


# -- middleware-to-runtime -------------------------------------------------------------------


@pytest.mark.parametrize("path", shapes("middleware"), ids=lambda p: p.stem)
def test_middleware_shapes_keep_the_header_contract(path: Path) -> None:
    from spaps_cli.codemods.middleware_to_runtime import MiddlewareToRuntime

    before, after, _ = migrated_project(path, MiddlewareToRuntime)
    if _constant(before, "REFUSED") is not None:
        return
    code_after = after.split('"""', 2)[2]  # past the shape's docstring
    assert "BaseHTTPMiddleware" not in code_after
    assert 'middleware("http")' not in code_after
    runs = [
        answers(source, f"{path.stem}_{label}", path.parent, {})
        for label, source in (("before", before), ("after", after))
    ]
    assert runs[1] == runs[0]


def test_middleware_corpus_size() -> None:
    assert len(shapes("middleware")) >= 10


# -- celery-to-runtime -----------------------------------------------------------------------


def _celery_view(module: types.ModuleType, with_backend: bool) -> dict[str, object]:
    """What workers and callers get from the app: its name, broker, backend, task modules and
    whether ``@shared_task`` tasks land on it."""
    from celery import _state

    app = module.celery_app
    view: dict[str, object] = {
        "main": app.main,
        "broker": app.conf.broker_url,
        "include": tuple(app.conf.include or ()),
        "shared tasks bind here": _state.get_current_app() is app,
    }
    if with_backend:
        view["backend"] = app.conf.result_backend
    return view


@pytest.mark.parametrize("path", shapes("celery"), ids=lambda p: p.stem)
def test_celery_shapes_build_the_same_app(path: Path, tmp_path: Path) -> None:
    from celery import _state

    from spaps_cli.codemods.celery_to_runtime import CeleryToRuntime

    before, after, _ = migrated_project(path, CeleryToRuntime)
    if _constant(before, "REFUSED") is not None:
        return
    with_backend = "backend=" in before
    for label, values in (_constant(before, "ENVIRONMENTS") or {}).items():
        views = []
        for name, source in (("before", before), ("after", after)):
            _state._tls.current_app = None
            _state.default_app = None
            with environment(values, tmp_path):
                views.append(
                    _celery_view(load_module(source, f"{path.stem}_{name}", tmp_path), with_backend)
                )
        assert views[1] == views[0], label


def test_celery_corpus_size() -> None:
    assert len(shapes("celery")) >= 10


ALL_SHAPES = [
    path
    for kind in ("settings", "db_session", "auth", "middleware", "celery")
    for path in shapes(kind)
]


@pytest.mark.parametrize("path", ALL_SHAPES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_codemod_together_reaches_a_fixed_point(path: Path) -> None:
    from migrate.harness import assert_all_codemods_idempotent

    assert_all_codemods_idempotent(path.read_bytes())
