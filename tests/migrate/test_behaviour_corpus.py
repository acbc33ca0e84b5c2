"""Behaviour preservation of on-event-to-lifespan over a corpus of realistic app shapes.

Every module in behaviour_corpus/ is imported twice, as written and as rewritten by the codemod,
and each distinct FastAPI app it defines (or builds with ``create_app()``) is started and stopped
with ``with TestClient(app)``: the startup/shutdown side effects must be the same, in the same
order, including what happens when a startup handler fails.
"""

from __future__ import annotations

import gc
import sys
import types
import warnings
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from migrate.harness import transform
from spaps_cli.codemods.on_event_to_lifespan import OnEventToLifespan
from spaps_cli.codemods.runner import migrate_source

CORPUS = Path(__file__).parent / "behaviour_corpus"
SHAPES = sorted(path for path in CORPUS.glob("s*.py"))
#: Shapes the codemod must leave alone, with what the follow-up must say and the line it must
#: point at (the construct that stops the rewrite, not the handler).
LEFT_ALONE: dict[str, tuple[str, int]] = {
    "s30_existing_lifespan": ("already has lifespan=", 16),
    "s33_conditional_registration": ("conditionally or from a helper", 0),
    "s34_handler_called_directly": ("called directly at import time", 0),
    "s38_handlers_appended_to_router_lists": ("which FastAPI would ignore", 0),
    "s50_decorator_above_on_event": ("@counted is applied on top of @on_event", 20),
    "s51_kwargs_constructor": ("*args/**kwargs that may carry a lifespan=", 7),
    "s52_factory_and_module_handlers": ("an app runs one lifespan", 6),
    "s53_handler_shadowed": ("'ready' is defined more than once", 14),
    "s54_cached_factory": ("the factory 'get_app' is decorated", 8),
    "s55_factory_forwarding_kwargs": ("the factory 'build' takes **kwargs", 8),
}


def _run_module(source: str, name: str) -> tuple[list[str], list[str]]:
    """Import ``source`` as a fresh module, run every app's lifespan, return the side effects.

    Also returns the warnings it raised, as ``Category: first line``: a run records them
    instead of printing them, so the migrated code can be held to the same runtime warnings as
    the original and to no deprecation at all.
    """
    sys.path.insert(0, str(CORPUS))
    try:
        import corpus_support

        corpus_support.SHARED_EVENTS.clear()
        module = types.ModuleType(name)
        module.__file__ = str(CORPUS / f"{name}.py")
        sys.modules[name] = module  # dataclasses look their module up while executing it
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            events = _run_apps(source, module)
            del module
            gc.collect()  # "coroutine ... was never awaited" is raised when it is collected
        warned = [
            f"{w.category.__name__}: {str(w.message).strip().splitlines()[0]}" for w in caught
        ]
        return events, warned
    finally:
        sys.path.remove(str(CORPUS))
        sys.modules.pop(name, None)


def _run_apps(source: str, module: types.ModuleType) -> list[str]:
    assert module.__file__ is not None
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    events: list[str] = module.__dict__["EVENTS"]
    apps: list[FastAPI] = []
    factory = module.__dict__.get("create_app")
    if callable(factory):
        apps.append(factory())
    for value in module.__dict__.values():
        if isinstance(value, FastAPI) and all(value is not app for app in apps):
            apps.append(value)
    assert apps, f"{module.__name__} defines no FastAPI app"
    for index, app in enumerate(apps):
        events.append(f"-- app {index}")
        try:
            with TestClient(app) as client:
                events.append("-- serving")
                if any(getattr(r, "path", "") == "/predict" for r in app.routes):
                    events.append(str(client.get("/predict").json()))
        except RuntimeError as exc:
            events.append(f"-- startup failed: {exc}")
    return list(events)


def test_corpus_has_at_least_30_shapes() -> None:
    assert len(SHAPES) >= 30


@pytest.mark.parametrize("path", SHAPES, ids=[p.stem for p in SHAPES])
def test_same_side_effects_in_the_same_order(path: Path) -> None:
    before = path.read_text(encoding="utf-8")
    after, fixed, follow_ups = transform(before, OnEventToLifespan)
    if path.stem in LEFT_ALONE:
        assert after == before
        reason, line = LEFT_ALONE[path.stem]
        assert any(reason in message for message in follow_ups), follow_ups
        if line:
            findings = migrate_source(
                before.encode(), (OnEventToLifespan,), OnEventToLifespan.EXAMPLE_CONFIG
            ).findings
            assert line in [f.line for f in findings if reason in f.message]
    else:
        assert after != before, "the codemod should have migrated this shape"
        assert fixed
        assert "on_event(" not in after
        assert "add_event_handler(" not in after
        assert "on_startup=" not in after
        assert "on_shutdown=" not in after
        assert "lifespan=" in after
    expected, warned_before = _run_module(before, f"{path.stem}_before")
    actual, warned_after = _run_module(after, f"{path.stem}_after")
    assert actual == expected
    assert any(not line.startswith("--") for line in expected), "the shape recorded nothing"
    # The same runtime warnings (a shape may leave a coroutine unawaited on purpose), and the
    # deprecations (on_event) gone wherever the codemod rewrote the shape.
    runtime = [w for w in warned_before if not w.startswith("DeprecationWarning")]
    assert [w for w in warned_after if not w.startswith("DeprecationWarning")] == runtime
    if path.stem not in LEFT_ALONE:
        assert not [w for w in warned_after if w.startswith("DeprecationWarning")], warned_after


def test_router_handlers_run_once_after_migration() -> None:
    """FastAPI >= 0.112.2 runs router on_event handlers twice when included: registered
    before ``include_router``, they are copied into the app's own list and also run by the router's
    merged lifespan.

    The router lifespan the codemod writes runs them once: the one intended change.
    """
    source = """\
from fastapi import APIRouter, FastAPI

EVENTS: list[str] = []
router = APIRouter()


@router.on_event("startup")
async def warm() -> None:
    EVENTS.append("warm")


@router.on_event("shutdown")
def cool() -> None:
    EVENTS.append("cool")


app = FastAPI()
app.include_router(router)
"""
    after, _, follow_ups = transform(source, OnEventToLifespan)
    assert "APIRouter(lifespan=router_lifespan)" in after
    assert not follow_ups
    before_events, _ = _run_module(source, "router_before")
    after_events, _ = _run_module(after, "router_after")
    assert before_events.count("warm") == 2  # the FastAPI behaviour being fixed
    assert after_events == ["-- app 0", "warm", "-- serving", "cool"]


def test_rewrites_keep_the_imports_as_sorted_as_ruff_found_them(tmp_path: Path) -> None:
    """Every corpus module whose imports ruff's isort rule accepted is still accepted after."""
    import json
    import shutil
    import subprocess

    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff is a dev dependency"
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ruff]\nline-length = 100\n[tool.ruff.lint.isort]\nknown-first-party = ["corpus_support"]\n'
    )
    for path in SHAPES:
        source = path.read_text(encoding="utf-8")
        (tmp_path / f"{path.stem}__before.py").write_text(source)
        (tmp_path / f"{path.stem}__after.py").write_text(transform(source, OnEventToLifespan)[0])
    result = subprocess.run(
        [ruff, "check", "--select", "I", "--no-cache", "--output-format", "json", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    unsorted = {Path(item["filename"]).stem for item in json.loads(result.stdout)}
    worse = sorted(
        stem.removesuffix("__after")
        for stem in unsorted
        if stem.endswith("__after") and stem.replace("__after", "__before") not in unsorted
    )
    assert not worse
    assert len(unsorted) < len(SHAPES)  # most shapes are sorted to begin with
