"""Run the Starlette apps of some modules and print what their lifespans did, as JSON.

A script, not a test: tests/migrate/test_starlette_behaviour_corpus.py runs it in a subprocess
whose ``sys.path`` starts with a pre-1.0 Starlette (which still has ``on_startup=``,
``on_event`` and ``add_event_handler``) or with the installed one, so the same module can be
compared across Starlette versions. Standard input: ``{"module name": "source", ...}``.
Standard output: ``{"version": "...", "results": {"module name": ["event", ...]}}``.
"""

from __future__ import annotations

import json
import sys
import types
import warnings
from typing import Any

import starlette
from starlette.applications import Starlette
from starlette.routing import Router
from starlette.testclient import TestClient


def run(name: str, source: str) -> list[str]:
    """Import ``source`` as module ``name``, start and stop each app, return the side effects.

    An import error is a result too (Starlette 1.x has no ``on_startup=``): the test decides
    whether that is expected.
    """
    module = types.ModuleType(name)
    module.__file__ = f"{name}.py"
    sys.modules[name] = module
    apps: list[Any] = []
    try:
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        factory = module.__dict__.get("create_app")
        if callable(factory):
            apps.append(factory())
    except Exception as exc:  # reported, not hidden
        return [f"-- import failed: {type(exc).__name__}"]
    finally:
        sys.modules.pop(name, None)
    events: list[str] = module.__dict__["EVENTS"]
    for value in module.__dict__.values():
        if isinstance(value, Starlette | Router) and all(value is not app for app in apps):
            apps.append(value)
    for index, app in enumerate(apps):
        events.append(f"-- app {index}: {type(app).__name__}")
        try:
            with TestClient(app) as client:
                events.append("-- serving")
                routes = app.routes if isinstance(app, Router) else app.router.routes
                if any(getattr(route, "path", "") == "/predict" for route in routes):
                    events.append(json.dumps(client.get("/predict").json(), sort_keys=True))
        except Exception as exc:  # a failing startup is part of the behaviour
            events.append(f"-- startup failed: {type(exc).__name__}: {exc}")
    return list(events)


def main() -> None:
    modules: dict[str, str] = json.load(sys.stdin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 0.x warns about every on_event/on_startup
        results = {name: run(name, source) for name, source in modules.items()}
    json.dump({"version": starlette.__version__, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
