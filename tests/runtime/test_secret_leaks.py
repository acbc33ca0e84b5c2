"""No secret in anything the API or the worker writes (issue 14 items 1, 4, 8 and 9).

A known marker is planted in every secret setting (the SPAPS API key, the local signing secret,
the passwords of the database, broker, result backend and Redis URLs), in request cookies,
``X-Api-Key``, bearer tokens and query strings, and in task arguments and results. Then the
real programs run as separate processes (``uvicorn``, ``celery worker``), through the refused
configurations and the error paths, and every byte they write to stdout and stderr is searched
for the marker.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from spaps_server_quickstart.auth.local import mint_dev_token
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.tasks import create_celery_app

HERE = Path(__file__).parent
PLANTED = f"Pl4nted{uuid.uuid4().hex[:10]}"


def planted(label: str) -> str:
    """A secret with the marker at both ends: pydantic shortens long values in the middle."""
    return f"{PLANTED}-{label}-{PLANTED}"


LOCAL_SECRET = planted("local-signing-secret")

#: Every secret setting, carrying the marker.
PLANTED_ENV: dict[str, str] = {
    "SPAPS_API_KEY": planted("api"),
    "AUTH_LOCAL_SECRET": LOCAL_SECRET,
    "DATABASE_URL": f"postgresql+asyncpg://orders:{planted('db')}@127.0.0.1:1/orders",
    "CELERY_BROKER_URL": f"redis://:{planted('broker')}@127.0.0.1:1/0",
    "CELERY_RESULT_BACKEND": f"redis://:{planted('results')}@127.0.0.1:1/1",
    "REDIS_URL": f"redis://cache:{planted('redis')}@127.0.0.1:1/2",
}

#: Configurations each program must refuse, with the secrets above planted in all of them.
REFUSED: dict[str, dict[str, str]] = {
    "prod-local-auth": {"ENV": "prod"},
    "prod-no-application-id": {"ENV": "prod", "AUTH_MODE": "spaps"},
    "prod-embedded-broker": {
        "ENV": "prod",
        "AUTH_MODE": "spaps",
        "SPAPS_APPLICATION_ID": "app-orders",
        "CELERY_BROKER_URL": "FILESYSTEM://",
    },
    "bad-log-level": {"LOG_LEVEL": "LOUD"},
}


def clean_environment(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    """The parent's environment minus any setting it carries, plus ours."""
    names = set(BaseServiceSettings.model_fields)
    inherited = {k: v for k, v in os.environ.items() if k.lower() not in names}
    return {
        **inherited,
        "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "CELERY_FILESYSTEM_FOLDER": str(tmp_path / "broker"),
        **extra,
    }


def assert_no_secret(output: str, where: str) -> None:
    assert output, f"{where} wrote nothing: the test would prove nothing"
    assert PLANTED not in output, f"{where} leaked a secret:\n{output}"


def api_command(*options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "spaps_leak_service:app",
        "--host",
        "127.0.0.1",
        *options,
    ]


def worker_command(*options: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "spaps_leak_service:celery_app",
        "worker",
        "--pool",
        "solo",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "-n",
        f"leak-{uuid.uuid4().hex[:8]}@%h",
        *options,
    ]


@pytest.mark.parametrize("program", ["api", "worker"])
@pytest.mark.parametrize("configuration", REFUSED.values(), ids=REFUSED)
def test_refused_configurations_print_no_secret(
    tmp_path: Path, program: str, configuration: dict[str, str]
) -> None:
    """Item 1: pydantic's ``input_value=`` printed the API key at start-up, API and worker."""
    env = clean_environment(tmp_path, {**PLANTED_ENV, **configuration})
    command = api_command("--port", "0") if program == "api" else worker_command()
    completed = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    output = completed.stdout + completed.stderr
    assert_no_secret(output, f"{program} refusing {configuration}")
    assert completed.returncode != 0, output
    assert "SettingsError" in output, output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], cwd: Path) -> Iterator[dict[str, Any]]:
    """Run ``command``; afterwards ``result["output"]`` holds all it wrote (stdout + stderr)."""
    log = cwd / f"output-{uuid.uuid4().hex[:6]}.txt"
    result: dict[str, Any] = {}
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            result["log"] = log
            yield result
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
    result["output"] = log.read_text(errors="replace")


def wait_until_serving(url: str, log: Path) -> None:
    deadline = time.monotonic() + 120  # a loaded CI machine starts Python slowly
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url + "/health/live", timeout=1.0)
            return
        time.sleep(0.1)
    raise AssertionError(f"the API did not start:\n{log.read_text()}")


def exercise_the_error_paths(url: str) -> None:
    user = mint_dev_token(LOCAL_SECRET, "alice")
    headers = {
        "Authorization": f"Bearer {user}",
        "Cookie": f"sid={PLANTED}-cookie; theme=dark",
        "X-Api-Key": f"{PLANTED}-xkey",
    }
    query = f"?token={PLANTED}-q1&q='&token={PLANTED}-q2&api_key={PLANTED}-q3"

    def call(method: str, path: str, **options: Any) -> int:
        # A connection per request: uvicorn closes the one a 500 was answered on.
        response = httpx.request(method, url + path + query, timeout=10.0, **options)
        assert PLANTED not in response.text, f"{path} answered a secret: {response.text}"
        return response.status_code

    assert call("GET", "/echo", headers=headers) == 200
    assert call("GET", "/boom", headers=headers) == 500
    assert call("GET", "/echo", headers={**headers, "Authorization": f"Bearer {PLANTED}-b"}) == 401
    # The planted database and broker URLs cannot connect: the answer and the log explain why.
    assert call("GET", "/health/ready") == 503
    assert call("POST", "/upload", headers=headers, content=b"{" + b" " * 2_000_000 + b"}") == 413
    assert call("GET", "/x%1B%5B2J", headers=headers) == 404


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_the_api_error_paths_print_no_secret(tmp_path: Path, log_format: str) -> None:
    """Items 8 and 9 on a real uvicorn process: access log, tracebacks, readiness, 401, 413."""
    port = free_port()
    env = clean_environment(
        tmp_path,
        {
            **PLANTED_ENV,
            "LOG_FORMAT": log_format,
            "LOG_LEVEL": "DEBUG",
            "READINESS_TIMEOUT_SECONDS": "1",
        },
    )
    url = f"http://127.0.0.1:{port}"
    with running(api_command("--port", str(port)), env, tmp_path) as result:
        wait_until_serving(url, result["log"])
        exercise_the_error_paths(url)
    output = result["output"]
    assert "Exception in ASGI application" in output  # the traceback was logged...
    assert_no_secret(output, f"uvicorn ({log_format})")  # ...without the secrets in it
    assert "\x1b" not in output  # the console format escapes the path's ESC
    if log_format == "json":
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        access = [line for line in lines if line.get("logger") == "uvicorn.access"]
        assert access, "uvicorn's access log is on by default and goes through our pipeline"
        assert all("?" not in line["event"] for line in access)


def test_no_access_log_silences_uvicorn_access(tmp_path: Path) -> None:
    """Item 8: the runtime re-enabled ``uvicorn.access`` under ``--no-access-log``."""
    port = free_port()
    env = clean_environment(
        tmp_path,
        {"LOG_FORMAT": "json", "CELERY_BROKER_URL": "filesystem://", "AUTH_MODE": "disabled"},
    )
    url = f"http://127.0.0.1:{port}"
    with running(api_command("--port", str(port), "--no-access-log"), env, tmp_path) as result:
        wait_until_serving(url, result["log"])
        httpx.get(url + "/health/live")
    lines = [json.loads(line) for line in result["output"].splitlines() if line.startswith("{")]
    assert not [line for line in lines if line.get("logger") == "uvicorn.access"]
    assert [line for line in lines if line.get("logger") == "spaps.access"]  # ours stays


def redis_broker_env() -> dict[str, str]:
    """Real Redis, reached with a planted password (a ``nopass`` user accepts any password)."""
    from spaps_server_quickstart.testing.services import REDIS_URL, require_service

    require_service("Redis", REDIS_URL)
    base = REDIS_URL.split("://", 1)[1].rsplit("@", 1)[-1].split("/", 1)[0]
    url = f"redis://default:{planted('redis')}@{base}/14"
    return {"CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url, "REDIS_URL": url}


@pytest.mark.parametrize(
    ("log_format", "broker"),
    [
        ("json", "embedded"),
        ("console", "embedded"),
        pytest.param("json", "redis", marks=pytest.mark.services),
    ],
)
def test_the_worker_logs_in_the_configured_format_and_prints_no_secret(
    tmp_path: Path, log_format: str, broker: str
) -> None:
    """Items 1 and 4: the worker bypassed the runtime's logging; results were printed in full.

    On Redis the broker, result backend and task-state URLs carry a planted password too.
    """
    if broker == "redis":
        urls = redis_broker_env()
    else:
        results = f"db+sqlite:///{tmp_path / 'results.sqlite'}"
        urls = {"CELERY_BROKER_URL": "filesystem://", "CELERY_RESULT_BACKEND": results}
    queue = f"spaps-leak-{uuid.uuid4().hex[:8]}"
    env = clean_environment(
        tmp_path,
        {
            **PLANTED_ENV,
            **urls,
            "LOG_FORMAT": log_format,
            "LOG_LEVEL": "DEBUG",
            "SPAPS_TEST_QUEUE": queue,
        },
    )
    if broker != "redis":
        env.pop("REDIS_URL")  # the task state store would use it; this worker runs embedded
    publisher = create_celery_app(
        BaseServiceSettings(
            env="test",
            celery_broker_url=urls["CELERY_BROKER_URL"],
            celery_result_backend=urls["CELERY_RESULT_BACKEND"],
            celery_filesystem_folder=str(tmp_path / "broker"),
        ),
        task_default_queue=queue,
    )
    with running(worker_command("--loglevel", "DEBUG", "-Q", queue), env, tmp_path) as result:
        echoed = publisher.send_task("leak.echo", args=[f"{PLANTED}-arg"])
        assert echoed.get(timeout=120, interval=0.1)["token"] == f"{PLANTED}-arg"
        failed = publisher.send_task("leak.fail", args=[f"{PLANTED}-arg2"])
        failed.get(timeout=120, interval=0.1, propagate=False)
        assert failed.state == "FAILURE"
    output = result["output"]
    assert "succeeded in" in output
    assert "raised unexpected" in output
    assert_no_secret(output, f"celery worker ({log_format}, {broker})")
    assert "s: <hidden>" in output  # "succeeded in 0.1s: <hidden>", not the result
    if log_format == "json":
        lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
        [succeeded] = [line for line in lines if "succeeded in" in line["event"]]
        assert succeeded["logger"] == "celery.app.trace"
        assert succeeded["task_id"] == echoed.id  # the runtime's context ids, on worker lines
