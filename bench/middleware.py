"""What does the runtime's middleware stack cost per request?

    python bench/middleware.py [--rounds 21] [--requests 300] [--concurrency 1,16] [--auth spaps]
    python bench/middleware.py --instructions      # the same ratios in CPU instructions

Three apps serve the same ``GET /items/{item_id}`` in-process (httpx.AsyncClient over
ASGITransport, so no sockets and no server in the numbers):

* ``bare``     FastAPI with no user middleware.
* ``runtime``  the app ``create_app`` builds: RequestContextMiddleware (request id, Server-Timing,
               access log) + SpapsAuthMiddleware + the lifespan state.
* ``bhm2``     the same work done by two ``BaseHTTPMiddleware`` subclasses (request id + access
               log, then auth with the same auth service), the shape services used before.
* ``rt-nolog`` the runtime stack with ``access_log=False``: what the access-log line costs.

Auth (``--auth``): ``spaps`` (default, the production path) validates the bearer token once
against the SPAPS stand-in served on a loopback socket, then from the validation cache, like a
busy service with returning users; ``local`` verifies a signed dev token on every request.

Every app logs its access line through the same structlog pipeline into /dev/null. Rounds are
interleaved (bare, runtime, bhm2, then rotated) so drifting machine load hits all variants
alike; figures are medians over rounds and ratios are paired per round (variant / bare in the
same round). Target: runtime >= 0.75 x bare.

``--instructions`` counts what each request executes instead of timing it: every variant runs
under valgrind's callgrind twice (warm-up only, then warm-up plus ``--instruction-requests``
requests, concurrency 1) and the difference divided by the request count is printed, with the
ratio bare / variant. Instruction counts do not move with the machine's load (a shared VM's
timings drift by 20% between rounds), so they settle what the timings leave open; they do not
see cache misses, which make the middleware's code somewhat dearer in wall time than its count.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TextIO

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.auth.errors import InvalidTokenError
from spaps_server_quickstart.auth.local import mint_dev_token
from spaps_server_quickstart.auth.service import create_auth_service
from spaps_server_quickstart.logging import configure_logging, get_logger
from spaps_server_quickstart.request_context import (
    bind_context,
    reset_context,
    sanitize_request_id,
)
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.testing.spaps_standin import serve_spaps_standin
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SECRET = "bench-local-secret"


def bench_settings(**auth: Any) -> BaseServiceSettings:
    return BaseServiceSettings(
        service_name="bench",
        database_url="sqlite+aiosqlite:///:memory:",
        log_format="json",
        log_level="INFO",
        auth_local_secret=SECRET,  # type: ignore[arg-type]
        auth_cache_ttl_seconds=600,
        **auth,
    )


def items_router() -> APIRouter:
    router = APIRouter()

    @router.get("/items/{item_id}")
    async def item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "name": "widget", "price": 9.5}

    return router


def bare_app() -> FastAPI:
    app = FastAPI()
    app.include_router(items_router())
    return app


def runtime_app(settings: BaseServiceSettings, *, access_log: bool = True) -> FastAPI:
    return create_app(settings=settings, routers=[items_router()], access_log=access_log)


class RequestIdAndAccessLog(BaseHTTPMiddleware):
    """The pre-runtime shape: request id + access log in a BaseHTTPMiddleware."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self.logger = get_logger("bench.access")

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request_id = sanitize_request_id(request.headers.get("x-request-id"))
        request.state.request_id = request_id
        tokens = bind_context(request_id=request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["x-request-id"] = request_id
            return response
        finally:
            self.logger.info(
                "request",
                method=request.method,
                path=request.url.path,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                request_id=request_id,
            )
            reset_context(tokens)


class BearerAuth(BaseHTTPMiddleware):
    """The pre-runtime shape: bearer validation in a BaseHTTPMiddleware."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return JSONResponse({"detail": "Not authenticated"}, status_code=401)
        try:
            user = await request.state.auth.authenticate(token)
        except InvalidTokenError:
            return JSONResponse({"detail": "Invalid token"}, status_code=401)
        request.state.user_id = user.user_id
        return await call_next(request)


def bhm2_app(settings: BaseServiceSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        service = create_auth_service(settings)
        try:
            yield {"auth": service}
        finally:
            if service is not None:
                await service.aclose()

    app = FastAPI(lifespan=lifespan)
    app.include_router(items_router())
    app.add_middleware(BearerAuth)
    app.add_middleware(RequestIdAndAccessLog)
    return app


def with_lifespan_state(app: FastAPI, state: dict[str, Any]) -> ASGIApp:
    """What uvicorn does for every request: a shallow copy of the lifespan state."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"] = dict(state)
        await app(scope, receive, send)

    return serve


@asynccontextmanager
async def running(app: FastAPI) -> Any:
    # ASGITransport sends no lifespan events; enter the app's lifespan directly.
    async with app.router.lifespan_context(app) as state:
        yield with_lifespan_state(app, dict(state or {}))


async def measure(
    client: httpx.AsyncClient, requests: int, concurrency: int, headers: dict[str, str]
) -> tuple[float, float]:
    """(requests per second, CPU microseconds per request) for one batch."""
    per_worker = requests // concurrency

    async def worker(offset: int) -> None:
        for index in range(per_worker):
            response = await client.get(f"/items/{offset + index}", headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"unexpected {response.status_code}: {response.text}")

    cpu_started, wall_started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(i * per_worker) for i in range(concurrency)))
    wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
    done = per_worker * concurrency
    return done / wall, cpu / done * 1e6


VARIANTS = ("bare", "runtime", "bhm2", "rt-nolog")


def build_apps(settings: BaseServiceSettings) -> dict[str, FastAPI]:
    builders: dict[str, Callable[[], FastAPI]] = {
        "bare": bare_app,
        "runtime": lambda: runtime_app(settings),
        "bhm2": lambda: bhm2_app(settings),
        # Not a contender: the runtime stack without its access-log line, to show what the
        # line costs.
        "rt-nolog": lambda: runtime_app(settings, access_log=False),
    }
    return {name: builders[name]() for name in VARIANTS}


def request_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Request-ID": "bench-request-1"}


async def run(
    devnull: TextIO,
    settings: BaseServiceSettings,
    token: str,
    rounds: int,
    requests: int,
    levels: list[int],
    warmup: int,
) -> None:
    headers = request_headers(token)
    apps = build_apps(settings)
    # create_app configured logging to stdout; send every access line to /dev/null instead,
    # through the same pipeline (the work stays, the terminal stays readable).
    configure_logging(settings, stream=devnull)
    # The in-process client's own "HTTP Request: ..." line is not server work: keep it out.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    contexts: dict[str, AbstractAsyncContextManager[Any]] = {
        name: running(app) for name, app in apps.items()
    }
    asgi_apps = {name: await ctx.__aenter__() for name, ctx in contexts.items()}
    clients = {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=asgi_app), base_url="http://bench"
        )
        for name, asgi_app in asgi_apps.items()
    }
    names = list(apps)
    try:
        for name in names:  # warm-up: imports, route compilation, caches
            await measure(clients[name], warmup, 1, headers)
        for level in levels:
            rates: dict[str, list[float]] = {name: [] for name in names}
            cpus: dict[str, list[float]] = {name: [] for name in names}
            for round_index in range(rounds):
                order = names[round_index % len(names) :] + names[: round_index % len(names)]
                for name in order:
                    rate, cpu = await measure(clients[name], requests, level, headers)
                    rates[name].append(rate)
                    cpus[name].append(cpu)
            report(level, names, rates, cpus)
    finally:
        for client in clients.values():
            await client.aclose()
        for ctx in contexts.values():
            await ctx.__aexit__(None, None, None)


def report(
    level: int, names: list[str], rates: dict[str, list[float]], cpus: dict[str, list[float]]
) -> None:
    print(f"\nconcurrency {level}")
    print(
        f"{'variant':<9} {'req/s':>8} {'ratio':>7} {'IQR':>13} {'CPU us/req':>11} {'CPU ratio':>9}"
    )
    for name in names:
        ratios = [rate / bare for rate, bare in zip(rates[name], rates["bare"], strict=True)]
        cpu_ratio = statistics.median(
            bare / cpu for cpu, bare in zip(cpus[name], cpus["bare"], strict=True)
        )
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        print(
            f"{name:<9} {statistics.median(rates[name]):>8.0f} {statistics.median(ratios):>7.3f}"
            f" {quartiles[0]:>6.2f}-{quartiles[2]:<6.2f} {statistics.median(cpus[name]):>11.0f}"
            f" {cpu_ratio:>9.3f}"
        )


@dataclass
class BenchAuth:
    settings: BaseServiceSettings
    token: str
    stack: contextlib.ExitStack  # closing it stops the SPAPS stand-in
    standin: Any = None


@contextlib.contextmanager
def bench_auth(auth: str) -> Iterator[BenchAuth]:
    with contextlib.ExitStack() as stack:
        if auth == "local":
            yield BenchAuth(
                bench_settings(auth_mode="local"), mint_dev_token(SECRET, "bench-user"), stack
            )
            return
        standin = stack.enter_context(serve_spaps_standin())
        settings = bench_settings(
            auth_mode="spaps",
            spaps_api_url=standin.url,
            spaps_api_key=standin.api_key,
            spaps_application_id=standin.application_id,
        )
        yield BenchAuth(settings, standin.register_user("bench-user"), stack, standin)


async def serve_requests(variant: str, auth: BenchAuth, devnull: TextIO, args: Any) -> None:
    """The measured process of ``--instructions``: warm up, stop the stand-in, serve."""
    app = build_apps(auth.settings)[variant]
    configure_logging(auth.settings, stream=devnull)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    async with running(app) as asgi_app:
        transport = httpx.ASGITransport(app=asgi_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = request_headers(auth.token)
            await measure(client, args.warmup, 1, headers)
            auth.stack.close()  # validations now come from the cache; no server thread runs
            if args.requests:
                await measure(client, args.requests, 1, headers)


_COLLECTED = re.compile(r"Collected : (\d+)")


def collected_instructions(valgrind: str, variant: str, requests: int, args: Any) -> int:
    command = [
        valgrind,
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--serve-variant",
        variant,
        "--requests",
        str(requests),
        "--warmup",
        str(args.warmup),
        "--auth",
        args.auth,
    ]
    # A fixed hash seed: dict and set layouts, hence the instruction counts, repeat exactly.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(
            f"bench/middleware.py: {variant} under callgrind failed:\n{done.stderr[-2000:]}"
        )
    return int(found.group(1))


def count_instructions(args: Any) -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit(
            "bench/middleware.py: --instructions needs valgrind on PATH (apt install valgrind)"
        )
    requests = args.instruction_requests
    print(
        f"middleware bench, instructions: {requests} requests per variant after {args.warmup}"
        f" warm-up, concurrency 1, auth={args.auth}; ratio = bare / variant (higher is better)"
    )
    jobs = [(variant, count) for variant in VARIANTS for count in (0, requests)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        totals = list(
            pool.map(lambda job: collected_instructions(valgrind, job[0], job[1], args), jobs)
        )
    counts = dict(zip(jobs, totals, strict=True))
    per_request = {v: (counts[v, requests] - counts[v, 0]) / requests for v in VARIANTS}
    print(f"\n{'variant':<9} {'instr/req':>10} {'ratio':>7}")
    for variant in VARIANTS:
        ratio = per_request["bare"] / per_request[variant]
        print(f"{variant:<9} {per_request[variant]:>10.0f} {ratio:>7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--requests", type=int, default=300, help="per variant per round")
    parser.add_argument("--concurrency", default="1,16", help="comma-separated levels")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--auth", choices=["spaps", "local"], default="spaps")
    parser.add_argument("--instructions", action="store_true", help="count with callgrind")
    parser.add_argument("--instruction-requests", type=int, default=400)
    parser.add_argument("--serve-variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    started = time.perf_counter()
    if args.serve_variant is not None:
        with open(os.devnull, "w") as devnull, bench_auth(args.auth) as auth:
            asyncio.run(serve_requests(args.serve_variant, auth, devnull, args))
        return
    if args.instructions:
        count_instructions(args)
        print(f"\ntotal {time.perf_counter() - started:.1f}s")
        return
    levels = [int(level) for level in args.concurrency.split(",")]
    print(
        f"middleware bench: {args.rounds} interleaved rounds x {args.requests} requests"
        f" per variant, concurrency {levels}, auth={args.auth}; ratio = variant / bare (paired per round),"
        " CPU ratio = bare CPU / variant CPU (higher is better)"
    )
    with open(os.devnull, "w") as devnull, bench_auth(args.auth) as auth:
        asyncio.run(
            run(devnull, auth.settings, auth.token, args.rounds, args.requests, levels, args.warmup)
        )
        if auth.standin is not None:
            print(f"SPAPS stand-in validations: {auth.standin.calls('validate')} (then cached)")
    print(f"\ntotal {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
