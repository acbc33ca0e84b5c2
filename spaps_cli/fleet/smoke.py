"""``spaps smoke``: migrate, boot the API and a real Celery worker, prove they work together, stop.

Stages, in order: ``migrate`` (``alembic upgrade head``), ``start-api`` (uvicorn on a free
loopback port, up when the port accepts connections), ``start-worker`` (``celery worker``, up
when it logs ``ready``), ``liveness`` and ``readiness`` (``/health/live`` and ``/health/ready``
answer 200), ``ping-task`` (``spaps.ping`` through the broker, its result carrying the request
id we sent) and ``stop`` (SIGTERM, both processes exit within the grace period).

Every process is supervised by :mod:`.supervision` (its own process group, the run's id in
``SPAPS_SMOKE_RUN``); on any failure, and on the way out in every case, each group is terminated
and then killed, so nothing outlives the command. Logs of every stage stay in the directory the
report names. The first failing stage is the answer: DB down fails ``migrate``, a broker down
fails ``start-worker``, an app that crashes on import fails ``start-api``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spaps_cli.fleet.interpreter import service_python
from spaps_cli.fleet.records import mask_url_password
from spaps_cli.fleet.supervision import (
    KILL_GRACE_SECONDS,
    RUN_MARKER,
    ManagedProcess,
    StopSignal,
    exit_text,
    kill_leftovers,
    stop_all,
    stop_on_signals,
)
from spaps_cli.progress import StepHook, no_progress
from spaps_cli.project import Project

STAGES = ("migrate", "start-api", "start-worker", "liveness", "readiness", "ping-task", "stop")
_POLL_SECONDS = 0.1
#: What a Celery worker logs when it cannot reach the broker (kombu keeps retrying: we don't).
_BROKER_DOWN_MARKERS = ("Cannot connect to", "consumer: Connection to broker lost")


class StageFailed(Exception):
    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.message = message


@dataclass
class StageResult:
    name: str
    ok: bool
    seconds: float
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"stage": self.name, "ok": self.ok, "seconds": self.seconds, "detail": self.detail}


@dataclass
class SmokeReport:
    service: str
    root: Path
    logs: Path
    run_id: str
    database_url: str
    broker_url: str
    stages: list[StageResult] = field(default_factory=list)
    failed_stage: str | None = None
    error: str | None = None
    #: still alive after the run (SIGKILL could not reach them)
    leftover_pids: list[int] = field(default_factory=list)
    #: started by the run but outside its process groups (daemonised); killed on the way out
    escaped_pids: list[int] = field(default_factory=list)
    #: the signal that stopped the run (SIGTERM, SIGHUP, SIGINT), if one did
    interrupted: str | None = None
    #: ``128 + n`` for signal ``n``: the exit code the command ends with when interrupted
    signal_exit_code: int | None = None
    #: name -> pid of every process the run started (all gone when the run returns)
    processes: dict[str, int] = field(default_factory=dict)
    #: Wall clock of the whole run (start stages overlap, so this is not the sum of the stages).
    total_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.failed_stage is None
            and self.interrupted is None
            and not self.leftover_pids
            and not self.escaped_pids
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "path": str(self.root),
            "ok": self.ok,
            "run_id": self.run_id,
            "logs": str(self.logs),
            "database_url": mask_url_password(self.database_url),
            "broker_url": mask_url_password(self.broker_url),
            "failed_stage": self.failed_stage,
            "error": self.error,
            "total_seconds": self.total_seconds,
            "stages": [stage.as_json() for stage in self.stages],
            "leftover_pids": self.leftover_pids,
            "escaped_pids": self.escaped_pids,
            "interrupted": self.interrupted,
            "processes": self.processes,
        }


@dataclass(frozen=True)
class SmokeOptions:
    database_url: str | None = None
    broker_url: str | None = None
    result_backend: str | None = None
    #: Limit for each stage, in seconds.
    timeout: float = 60.0
    python: Path | None = None
    logs: Path | None = None


def uses_pgvector(project: Project) -> bool:
    """Generated with ``spaps new service --pgvector`` (recorded in ``[tool.spaps.answers]``)."""
    answers = project.spaps.get("answers", {})
    return isinstance(answers, dict) and answers.get("pgvector") is True


def default_result_backend(broker_url: str, work_dir: Path) -> str:
    """Redis stores results itself; RabbitMQ answers over ``rpc://``; the embedded broker keeps
    them in a SQLite file next to it."""
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url
    if broker_url.startswith(("amqp://", "amqps://", "pyamqp://")):
        return "rpc://"
    return f"db+sqlite:///{work_dir / 'celery-results.sqlite'}"


def migrate_command(python: str, root: Path) -> list[str]:
    return [python, "-m", "alembic", "-c", str(root / "alembic.ini"), "upgrade", "head"]


def api_command(python: str, package: str, port: int) -> list[str]:
    """uvicorn as a container runs it: one process, the lifespan on, here on loopback only."""
    options = f"--host 127.0.0.1 --port {port} --lifespan on".split()
    return [python, "-m", "uvicorn", f"{package}.main:app", *options]


#: One process (solo pool), none of the cluster chatter: quick to start and to stop, and the
#: broker round trip is exactly the one the service's own tasks take.
WORKER_OPTIONS = (
    *("--pool", "solo", "--concurrency", "1", "--loglevel", "INFO"),
    *("--without-gossip", "--without-mingle", "--without-heartbeat"),
)


def worker_command(python: str, package: str, hostname: str) -> list[str]:
    return [
        python,
        "-m",
        "celery",
        "--app",
        f"{package}.worker",
        "worker",
        *WORKER_OPTIONS,
        "--hostname",
        hostname,
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    stage: str,
    process: ManagedProcess | None = None,
    what: str,
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if process is not None:
            code = process.exited()
            if code is not None:
                tail = process.tail()
                last = next((line for line in reversed(tail.splitlines()) if line.strip()), "")
                raise StageFailed(
                    stage,
                    f"{process.name} exited with code {code} before {what}: {last.strip()}\n{tail}",
                )
        if time.monotonic() >= deadline:
            tail = f"\n{process.tail()}" if process is not None else ""
            raise StageFailed(stage, f"no {what} within {timeout:g}s{tail}")
        time.sleep(_POLL_SECONDS)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _http_get(url: str, request_id: str, timeout: float) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode("utf-8", "replace")


class SmokeRun:
    """One run: the processes it started, the stages it timed."""

    def __init__(
        self, project: Project, options: SmokeOptions, on_step: StepHook = no_progress
    ) -> None:
        self.project = project
        self.options = options
        self.on_step = on_step
        self.python = service_python(project.root, options.python)
        self.run_id = uuid.uuid4().hex[:12]
        self.logs = options.logs or Path(tempfile.mkdtemp(prefix=f"spaps-smoke-{self.run_id}-"))
        self.logs.mkdir(parents=True, exist_ok=True)
        self.logs = self.logs.resolve()
        database_url = options.database_url or f"sqlite+aiosqlite:///{self.logs / 'smoke.db'}"
        broker_url = options.broker_url or "filesystem://"
        self.env = self._environment(database_url, broker_url)
        self.processes: list[ManagedProcess] = []
        self.report = SmokeReport(
            service=str(project.spaps.get("service", project.package)),
            root=project.root,
            logs=self.logs,
            run_id=self.run_id,
            database_url=database_url,
            broker_url=broker_url,
        )

    def _environment(self, database_url: str, broker_url: str) -> dict[str, str]:
        env = dict(os.environ)
        source = str(self.project.root / "src")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                RUN_MARKER: self.run_id,
                "DATABASE_URL": database_url,
                "CELERY_BROKER_URL": broker_url,
                "CELERY_RESULT_BACKEND": self.options.result_backend
                or default_result_backend(broker_url, self.logs),
                "CELERY_FILESYSTEM_FOLDER": str(self.logs / "broker"),
                "RUN_MIGRATIONS_ON_STARTUP": "false",
            }
        )
        if uses_pgvector(self.project):
            # Readiness then proves the extension exists: a pgvector service is never
            # smoked as if it had none (on SQLite it fails: pgvector needs PostgreSQL).
            env["PGVECTOR_ENABLED"] = "true"
        return env

    @contextmanager
    def stage(self, name: str, *, since: float | None = None) -> Iterator[StageResult]:
        """Time one stage (from ``since`` when the work started earlier, e.g. at spawn)."""
        result = StageResult(name=name, ok=False, seconds=0.0)
        started = time.perf_counter() if since is None else since
        try:
            with self.on_step(f"smoke: {name}"):
                yield result
        except StageFailed:
            raise
        except Exception as error:
            raise StageFailed(name, f"{type(error).__name__}: {error}") from error
        finally:
            result.seconds = round(time.perf_counter() - started, 3)
            self.report.stages.append(result)
        result.ok = True

    def spawn(self, name: str, args: list[str]) -> ManagedProcess:
        process = ManagedProcess(
            name, args, cwd=self.project.root, env=self.env, log=self.logs / f"{name}.log"
        )
        self.processes.append(process)
        self.report.processes[name] = process.pid
        return process

    def run_once(self, name: str, args: list[str], stage: str) -> str:
        process = self.spawn(name, args)
        try:
            code = process.popen.wait(timeout=self.options.timeout)
        except subprocess.TimeoutExpired as error:
            raise StageFailed(
                stage, f"{name} did not finish within {self.options.timeout:g}s\n{process.tail()}"
            ) from error
        finally:
            process.stop(KILL_GRACE_SECONDS)
        if code != 0:
            tail = process.tail()
            last = next((line for line in reversed(tail.splitlines()) if line.strip()), "")
            raise StageFailed(stage, f"{name} exited with code {code}: {last.strip()}\n{tail}")
        return process.log.read_text(encoding="utf-8", errors="replace")

    def execute(self) -> SmokeReport:
        """Run the stages; whatever ends them (success, a failed stage, SIGTERM, SIGHUP,
        Ctrl-C), stop every process the run started, its escaped descendants included."""
        started = time.perf_counter()
        with stop_on_signals() as guard:
            try:
                self._stages()
            except StageFailed as failure:
                self._record_failure(failure)
            except StopSignal:
                pass  # recorded by the guard, reported below once everything is stopped
            finally:
                guard.hold()
                stop_all(self.processes, KILL_GRACE_SECONDS)
                escaped, alive = kill_leftovers(self.run_id, [p.pid for p in self.processes])
                self.report.escaped_pids = escaped
                self.report.leftover_pids = alive
                self.report.total_seconds = round(time.perf_counter() - started, 3)
                if guard.received is not None:
                    self._record_interruption(guard.received)
                (self.logs / "smoke.json").write_text(
                    json.dumps(self.report.as_json(), indent=2), encoding="utf-8"
                )
        return self.report

    def _stages(self) -> None:
        timeout = self.options.timeout
        python = str(self.python)
        package = self.project.package
        has_worker = (self.project.package_dir / "worker.py").is_file()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with self.stage("migrate") as result:
            self.run_once("migrate", migrate_command(python, self.project.root), "migrate")
            result.detail = "alembic upgrade head"
        api = self.spawn("api", api_command(python, package, port))
        worker = (
            self.spawn("worker", worker_command(python, package, f"smoke-{self.run_id}@%h"))
            if has_worker
            else None
        )
        with self.stage("start-api", since=api.started) as result:
            _wait_until(
                lambda: _port_open(port),
                timeout=timeout,
                stage="start-api",
                process=api,
                what=f"listening socket on 127.0.0.1:{port}",
            )
            result.detail = base
        if worker is not None:
            with self.stage("start-worker", since=worker.started) as result:
                _wait_until(
                    lambda: self._worker_ready(worker),
                    timeout=timeout,
                    stage="start-worker",
                    process=worker,
                    what="'ready' line from the worker",
                )
                result.detail = f"pid {worker.pid}"
        with self.stage("liveness") as result:
            result.detail = self._expect_200(f"{base}/health/live", "liveness", api)
        with self.stage("readiness") as result:
            result.detail = self._expect_200(f"{base}/health/ready", "readiness", api)
        if worker is not None:
            with self.stage("ping-task") as result:
                result.detail = self._ping()
        with self.stage("stop") as result:
            result.detail = self._stop([process for process in (api, worker) if process])

    def _record_failure(self, failure: StageFailed) -> None:
        self.report.failed_stage = failure.stage
        self.report.error = failure.message
        if self.report.stages and self.report.stages[-1].name == failure.stage:
            self.report.stages[-1].detail = failure.message.splitlines()[0]
        else:
            self.report.stages.append(
                StageResult(failure.stage, False, 0.0, failure.message.splitlines()[0])
            )

    def _record_interruption(self, stop: StopSignal) -> None:
        self.report.interrupted = stop.name
        self.report.signal_exit_code = stop.exit_code
        where = next((stage.name for stage in self.report.stages if not stage.ok), None)
        self.report.error = f"stopped by {stop.name}" + (f" during {where}" if where else "")
        for stage in self.report.stages:
            if not stage.ok and not stage.detail:
                stage.detail = f"interrupted by {stop.name}"

    def _stop(self, processes: list[ManagedProcess]) -> str:
        # A Celery worker on RabbitMQ needs several seconds of warm shutdown (its consumer
        # loop drains with a timeout): the stage limit, not a fixed few seconds, is the grace.
        grace = self.options.timeout
        slow = stop_all(processes, grace)
        if slow:
            raise StageFailed(
                "stop",
                f"{', '.join(slow)} did not stop within {grace:g}s of SIGTERM; killed",
            )
        return "; ".join(
            f"{process.name} {exit_text(process.popen.returncode)}" for process in processes
        )

    def _worker_ready(self, worker: ManagedProcess) -> bool:
        down = worker.log_contains(*_BROKER_DOWN_MARKERS)
        if down is not None:
            raise StageFailed("start-worker", f"the worker cannot reach the broker: {down}")
        return worker.log_contains(" ready.") is not None

    def _expect_200(self, url: str, stage: str, api: ManagedProcess) -> str:
        request_id = f"smoke-{self.run_id}-{stage}"
        try:
            status, body = _http_get(url, request_id, self.options.timeout)
        except OSError as error:
            raise StageFailed(stage, f"GET {url}: {error}\n{api.tail()}") from error
        if status != 200:
            raise StageFailed(stage, f"GET {url} answered {status}: {body[:500]}")
        return f"200 {body[:200]}"

    def _ping(self) -> str:
        request_id = f"smoke-{self.run_id}-ping"
        script = Path(__file__).with_name("smoke_ping.py")
        output = self.run_once(
            "ping",
            [
                str(self.python),
                str(script),
                self.project.package,
                request_id,
                str(self.options.timeout),
            ],
            "ping-task",
        )
        lines = [line for line in output.splitlines() if line.startswith("{")]
        if not lines:
            raise StageFailed("ping-task", f"no result printed\n{output[-2000:]}")
        answer = json.loads(lines[-1])
        result = answer.get("result")
        if not isinstance(result, dict) or result.get("request_id") != request_id:
            raise StageFailed(
                "ping-task", f"the result does not carry request id {request_id}: {result!r}"
            )
        return f"{result} in {answer.get('seconds')}s"


def run_smoke(
    project: Project, options: SmokeOptions, *, on_step: StepHook = no_progress
) -> SmokeReport:
    return SmokeRun(project, options, on_step).execute()
