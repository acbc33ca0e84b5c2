"""Benchmark ``spaps migrate --check`` against LibCST's codemod runner and django-upgrade.

Generates a synthetic fleet (default 5,000 modules, about 10% needing a codemod, the rest
ordinary routers, models, services, Celery tasks and tests, some of which contain a needle
without needing a change) and times, in the same run and over the same tree:

- ``spaps migrate --check`` with every codemod;
- ``python -m libcst.tool codemod`` running a no-op command (the floor of any LibCST codemod
  run through its own runner), with ``--no-format`` and ``-u`` so it writes nothing;
- ``django-upgrade --check`` (stdlib ``ast`` + tokens, one process) as the speed reference.

Targets: >= 10x faster than the LibCST no-op run (issue 7), and no slower than django-upgrade's
wall time on the same tree (issue 13).

    python bench/migrate.py                 # 5,000 modules, a few minutes on 2 cores
    python bench/migrate.py --modules 1000  # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from process_timing import compile_spaps

NOOP_COMMAND = """\
from libcst.codemod import VisitorBasedCodemodCommand


class NoOpCommand(VisitorBasedCodemodCommand):
    DESCRIPTION = "Does nothing: measures the runner's own cost."
"""

ROUTES = '''

@router.get("/{name}/{{item_id}}")
async def read_{name}_{index}(item_id: int, limit: int = 10) -> dict[str, object]:
    """Return one {name} and a page of related rows."""
    rows = [{{"id": item_id + offset, "kind": "{name}"}} for offset in range(limit)]
    if not rows:
        raise HTTPException(status_code=404, detail="{name} not found")
    return {{"item": rows[0], "related": rows[1:]}}


@router.post("/{name}")
async def create_{name}_{index}(payload: dict[str, object]) -> dict[str, object]:
    """Validate and store a new {name}."""
    cleaned = {{key: value for key, value in payload.items() if value is not None}}
    cleaned.setdefault("kind", "{name}")
    return cleaned
'''


def _routes(name: str, count: int) -> str:
    return "".join(ROUTES.format(name=name, index=i) for i in range(count))


def router_module(rng: random.Random, name: str) -> str:
    return (
        f'"""HTTP routes for {name}."""\n\nfrom fastapi import APIRouter, HTTPException\n\n'
        f'router = APIRouter(prefix="/{name}", tags=["{name}"])\n'
        + _routes(name, rng.randint(5, 9))
    )


def migrated_router_module(rng: random.Random, name: str) -> str:
    """Already on the runtime: contains the ``get_db`` needle, needs nothing."""
    return (
        f'"""Routes for {name}, already migrated."""\n\n'
        "from fastapi import APIRouter, HTTPException\n"
        "from spaps_server_quickstart.db import DbSession, get_db_session  # noqa: F401\n\n"
        f'router = APIRouter(prefix="/{name}")\n' + _routes(name, rng.randint(3, 5))
    )


def model_module(rng: random.Random, name: str) -> str:
    fields = "\n".join(
        f'    field_{i}: Mapped[str] = mapped_column(String(64), default="")'
        for i in range(rng.randint(8, 20))
    )
    return (
        textwrap.dedent(
            f'''\
        """Database model for {name}."""

        from sqlalchemy import String
        from sqlalchemy.orm import Mapped, mapped_column

        from .base import Base


        class {name.title()}(Base):
            __tablename__ = "{name}"

            id: Mapped[int] = mapped_column(primary_key=True)
        '''
        )
        + fields
        + '\n\n    def label(self) -> str:\n        return f"{self.id}"\n' * 3
    )


def service_module(rng: random.Random, name: str) -> str:
    functions = "".join(
        textwrap.dedent(
            f'''

            def compute_{name}_{i}(values: list[float], weight: float = 1.0) -> float:
                """Weighted mean of values; 0.0 for an empty list."""
                if not values:
                    return 0.0
                total = sum(value * weight for value in values)
                return total / len(values)
            '''
        )
        for i in range(rng.randint(10, 18))
    )
    return f'"""Business rules for {name}."""\n\nfrom __future__ import annotations\n' + functions


def task_module(rng: random.Random, name: str) -> str:
    tasks = "".join(
        textwrap.dedent(
            f'''

            @shared_task(bind=True, max_retries=3)
            def refresh_{name}_{i}(self, item_id: int) -> int:
                """Recompute derived values for one {name}."""
                try:
                    return item_id * {i + 1}
                except ValueError as exc:
                    raise self.retry(exc=exc) from exc
            '''
        )
        for i in range(rng.randint(8, 14))
    )
    return f'"""Celery tasks for {name}."""\n\nfrom celery import shared_task\n' + tasks


def test_module(rng: random.Random, name: str) -> str:
    tests = "".join(
        f"\n\ndef test_{name}_{i}() -> None:\n    assert {i} + 1 == {i + 1}\n"
        for i in range(rng.randint(25, 45))
    )
    return f'"""Tests for {name}."""\n' + tests


def app_on_event(rng: random.Random, name: str) -> str:
    handlers = rng.choice(
        [
            '@app.on_event("startup")\nasync def connect() -> None:\n    await db.connect()\n\n\n'
            '@app.on_event("shutdown")\nasync def disconnect() -> None:\n    await db.disconnect()\n',
            "@app.on_event('startup')\ndef load_model() -> None:\n    MODEL.load()\n\n\n"
            '@app.on_event("startup")\nasync def warm() -> None:\n    await cache.warm()\n',
            "async def connect() -> None:\n    await db.connect()\n\n\n"
            'app.router.add_event_handler("startup", connect)\n',
        ]
    )
    return (
        f'"""The {name} service."""\n\nfrom fastapi import APIRouter, FastAPI, HTTPException\n\n'
        "from .db import db\nfrom .cache import cache\nfrom .ml import MODEL\n\n"
        f'app = FastAPI(title="{name}")\nrouter = APIRouter()\n\n\n' + handlers + _routes(name, 3)
    )


def settings_module(rng: random.Random, name: str) -> str:
    return textwrap.dedent(
        f'''\
        """Settings for {name}."""

        from functools import lru_cache

        from pydantic_settings import BaseSettings


        class Settings(BaseSettings):
            service_name: str = "{name}"
            debug: bool = False
            log_level: str = "INFO"
            feature_flag_{rng.randint(1, 99)}: bool = True


        @lru_cache
        def get_settings() -> Settings:
            return Settings()
        '''
    )


def middleware_module(rng: random.Random, name: str) -> str:
    return textwrap.dedent(
        f'''\
        """Request id middleware for {name}."""

        import uuid

        from fastapi import FastAPI, Request
        from starlette.middleware.base import BaseHTTPMiddleware


        class RequestIdMiddleware(BaseHTTPMiddleware):
            async def dispatch(self, request: Request, call_next):
                request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
                response = await call_next(request)
                response.headers["X-Request-ID"] = request_id
                return response


        app = FastAPI()
        app.add_middleware(RequestIdMiddleware)
        '''
    )


def celery_module(rng: random.Random, name: str) -> str:
    return textwrap.dedent(
        f'''\
        """Celery app for {name}."""

        from celery import Celery

        from .config import settings

        celery_app = Celery(
            "{name}",
            broker=settings.celery_broker_url,
            backend=settings.celery_result_backend,
            include=["{name}.tasks"],
        )
        '''
    )


def db_router_module(rng: random.Random, name: str) -> str:
    return (
        f'"""Routes for {name} using the local session."""\n\n'
        "from fastapi import APIRouter, Depends\nfrom sqlalchemy.ext.asyncio import AsyncSession\n\n"
        "from .db import get_db\n\n"
        f'router = APIRouter()\n\n\n@router.get("/{name}")\n'
        "async def listing(db: AsyncSession = Depends(get_db)) -> list[int]:\n    return []\n"
        + _routes(name, 2)
    )


NEEDS_CHANGE = [app_on_event, settings_module, middleware_module, celery_module, db_router_module]
ORDINARY = [router_module, model_module, service_module, task_module, test_module]


def generate(root: Path, modules: int, seed: int = 7) -> int:
    """Write the tree; return how many modules were generated to need a change."""
    rng = random.Random(seed)
    needing = 0
    per_service = 100
    for index in range(modules):
        service = root / f"svc{index // per_service:03}" / f"svc{index // per_service:03}"
        service.mkdir(parents=True, exist_ok=True)
        name = f"thing{index}"
        roll = rng.random()
        if roll < 0.10:
            shape = NEEDS_CHANGE[index % len(NEEDS_CHANGE)]
            needing += 1
        elif roll < 0.15:
            shape = migrated_router_module
        else:
            shape = ORDINARY[index % len(ORDINARY)]
        (service / f"{name}.py").write_text(shape(rng, name))
    return needing


def timed(
    argv: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, completed


def _medians(times: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=5000)
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--skip-libcst", action="store_true", help="skip the slow LibCST run")
    parser.add_argument("--rounds", type=int, default=5, help="spaps/django-upgrade rounds")
    args = parser.parse_args()
    compile_spaps()

    with tempfile.TemporaryDirectory(prefix="spaps-bench-") as scratch:
        root = Path(scratch) / "fleet"
        root.mkdir()
        needing = generate(root, args.modules)
        files = sorted(str(p.relative_to(root)) for p in root.rglob("*.py"))
        lines = sum(p.read_text().count("\n") for p in root.rglob("*.py"))
        print(
            f"tree: {len(files)} modules, {lines} lines, {needing} generated to need a change,"
            f" {args.jobs} jobs"
        )
        rows: list[tuple[str, float, float]] = []

        spaps_argv = [
            *[sys.executable, "-c", "from spaps_cli.app import main; main()"],
            *["migrate", "--check", "--json", "--jobs", str(args.jobs), "."],
        ]
        django_argv = [
            *[sys.executable, "-m", "django_upgrade", "--check", "--target-version", "5.0"],
            *files,
        ]
        # Alternating rounds, medians: one run each is at the mercy of whatever else the
        # machine does for those few seconds.
        spaps_times: list[tuple[float, float]] = []
        django_times: list[tuple[float, float]] = []
        for round_index in range(args.rounds):
            order = [("spaps", spaps_argv), ("django", django_argv)]
            for name, argv in order if round_index % 2 == 0 else order[::-1]:
                wall, cpu, done = timed(argv, cwd=root)
                if name == "spaps":
                    report = json.loads(done.stdout)
                    assert done.returncode == 1, done.stderr[-2000:]
                    spaps_times.append((wall, cpu))
                else:
                    django_times.append((wall, cpu))
        changed = report["files"]["changed"]
        print(
            f"spaps migrate --check: exit 1, {changed} files would change,"
            f" {report['files']['parsed']} parsed, {report['files']['failed']} failed,"
            f" {sum(1 for f in report['findings'] if not f['auto_fixable'])} follow-ups"
        )
        label = f"median of {args.rounds}"
        rows.append((f"spaps migrate --check ({label})", *_medians(spaps_times)))
        rows.append((f"django-upgrade --check ({label})", *_medians(django_times)))

        if not args.skip_libcst:
            noop = Path(scratch) / "noop_pkg"
            noop.mkdir()
            (noop / "spaps_bench_noop.py").write_text(NOOP_COMMAND)
            wall, cpu, done = timed(
                # The command must be the first positional: libcst.tool pre-parses argv for it.
                [
                    sys.executable,
                    "-m",
                    "libcst.tool",
                    "codemod",
                    "-x",
                    "spaps_bench_noop.NoOpCommand",
                    "--no-format",
                    "-u",
                    "0",
                    "--hide-progress",
                    "-j",
                    str(args.jobs),
                    ".",
                ],
                cwd=root,
                env={"PYTHONPATH": str(noop)},
            )
            assert done.returncode == 0, done.stderr[-2000:]
            rows.append(("libcst.tool codemod, no-op command", wall, cpu))

    print()
    print(f"{'command':<40} {'wall s':>8} {'cpu s':>8} {'files/s':>9}")
    for label, wall, cpu in rows:
        print(f"{label:<40} {wall:>8.2f} {cpu:>8.2f} {len(files) / wall:>9.0f}")
    spaps_wall = rows[0][1]
    django_wall = rows[1][1]
    print()
    print(f"spaps / django-upgrade wall time: {spaps_wall / django_wall:.2f}x (target <= 1x)")
    if not args.skip_libcst:
        libcst_wall = rows[2][1]
        print(f"libcst no-op / spaps wall time:   {libcst_wall / spaps_wall:.1f}x (target >= 10x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
