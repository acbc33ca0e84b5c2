"""One fresh virtualenv per test run, with the runtime from this checkout, for end-to-end tests.

Generated services are installed into it and their own tools (pytest, alembic, uvicorn, celery)
run from it, exactly as a developer would after ``spaps new service``: nothing from the
repository's dev environment leaks in (no ``PYTHONPATH``, no dev packages, no ``DATABASE_URL``).
Building it costs ~20 s, so it is session-scoped and shared by every e2e module. So is the
fresh-machine service (``fresh_service``: a CLI wheel, ``spaps new service`` and the README's
commands, ~45 s), which test_fresh_machine and test_image_recipe both use.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_DIR = REPO_ROOT / "runtime"

#: Environment variables of the outer run that would change what the inner tools do.
_LEAKY_PREFIXES = ("PYTHON", "VIRTUAL_ENV", "PYTEST", "DATABASE_", "CELERY_", "REDIS_", "AUTH_")
_LEAKY_NAMES = frozenset({"ENV", "SERVICE_NAME", "LOG_FORMAT", "LOG_LEVEL", "SPAPS_API_KEY"})

INSTALL_TIMEOUT = 600.0
COMMAND_TIMEOUT = 240.0


def clean_environment() -> dict[str, str]:
    """This process's environment without what would steer the inner tools (see above)."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_LEAKY_PREFIXES) and key not in _LEAKY_NAMES
    }


class CommandFailedError(AssertionError):
    """A command in the service virtualenv exited non-zero; the message carries its output."""


@dataclass(frozen=True)
class ServiceVenv:
    """A virtualenv with ``spaps-server-quickstart[postgres,redis]``, pytest and uvicorn."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """A clean environment with this virtualenv first on ``PATH``, plus ``extra``."""
        env = clean_environment()
        env["VIRTUAL_ENV"] = str(self.root)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(extra or {})
        return env

    def run(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        timeout: float = COMMAND_TIMEOUT,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` (``argv[0]`` looked up in this virtualenv first) and capture its output."""
        executable = self.bin / argv[0]
        command = [str(executable) if executable.exists() else argv[0], *argv[1:]]
        completed = subprocess.run(
            command,
            cwd=cwd,
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and completed.returncode != 0:
            raise CommandFailedError(
                f"{' '.join(argv)} exited {completed.returncode} in {cwd}\n"
                f"--- stdout ---\n{completed.stdout[-6000:]}\n--- stderr ---\n{completed.stderr[-6000:]}"
            )
        return completed

    def pip_install(self, *requirements: str | Path, editable: Path | None = None) -> None:
        argv = ["pip", "install", "--quiet", "--disable-pip-version-check"]
        if editable is not None:
            argv += ["--editable", str(editable)]
        argv += [str(r) for r in requirements]
        self.run(argv, cwd=self.root, timeout=INSTALL_TIMEOUT)

    def install_service(self, service: Path) -> None:
        """``pip install -e <service>``; its runtime requirement is already satisfied here."""
        self.pip_install(editable=service)

    @contextmanager
    def background(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        log: Path,
        stop_timeout: float = 20.0,
    ) -> Iterator[subprocess.Popen[bytes]]:
        """Run a server (uvicorn, a celery worker) for the length of the block, then stop it.

        SIGTERM first (graceful shutdown), SIGKILL after ``stop_timeout``; the process group is
        signalled so no child (celery pool processes) outlives the test.
        """
        executable = self.bin / argv[0]
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(executable) if executable.exists() else argv[0], *argv[1:]],
                cwd=cwd,
                env=self.environment(env),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                yield process
            finally:
                stop_group(process, stop_timeout)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM to the process group (graceful), SIGKILL after ``timeout``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], object], *, timeout: float, interval: float = 0.2) -> bool:
    """Poll ``predicate()`` until it is truthy or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@pytest.fixture(scope="session")
def service_venv(tmp_path_factory: pytest.TempPathFactory) -> ServiceVenv:
    """The shared virtualenv (created once per run; see the module docstring)."""
    root = tmp_path_factory.mktemp("service-venv") / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", str(root)], check=True, timeout=120, capture_output=True
    )
    venv = ServiceVenv(root)
    # testing: what the service's dev extra brings for its tests (httpx2 for the TestClient).
    venv.pip_install(f"{RUNTIME_DIR}[postgres,redis,testing]", "pytest", "uvicorn")
    return venv


#: The service the fresh-machine fixture generates.
FRESH_NAME = "fresh-api"
README_BLOCK = re.compile(r"<!-- install-and-test -->\n```console\n(?P<body>.*?)```", re.S)


@dataclass(frozen=True)
class FreshService:
    root: Path
    next_hint: str
    install: subprocess.CompletedProcess[str]


def run_checked(
    argv: list[str], *, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
    )
    if completed.returncode != 0:
        raise CommandFailedError(
            f"{' '.join(argv)} exited {completed.returncode} in {cwd}\n"
            f"--- stdout ---\n{completed.stdout[-8000:]}\n--- stderr ---\n{completed.stderr[-8000:]}"
        )
    return completed


def bare_environment() -> dict[str, str]:
    """No virtualenv of this run on ``PATH``: ``python3`` is the machine's."""
    env = clean_environment()
    entries = env.get("PATH", "").split(os.pathsep)
    env["PATH"] = os.pathsep.join(
        entry for entry in entries if entry and not (Path(entry).parent / "pyvenv.cfg").exists()
    )
    return env


def readme_commands(readme: str) -> list[str]:
    found = README_BLOCK.search(readme)
    assert found, "the README has no <!-- install-and-test --> console block"
    return [line[2:] for line in found["body"].splitlines() if line.startswith("$ ")]


@pytest.fixture(scope="session")
def fresh_service(tmp_path_factory: pytest.TempPathFactory) -> FreshService:
    """CLI wheel -> fresh venv -> ``spaps new service`` -> the README's commands, once a run.

    Shared: test_fresh_machine checks the install, test_image_recipe builds the image recipe
    from the same checkout (its ``uv.lock`` is the one this README step wrote).
    """
    work = tmp_path_factory.mktemp("fresh-machine")
    env = bare_environment()
    dist = work / "dist"
    run_checked(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(dist),
            str(REPO_ROOT),
        ],
        cwd=work,
        env=env,
    )
    (wheel,) = dist.glob("spaps_cli-*.whl")
    cli = work / "cli-venv"
    python3 = shutil.which("python3", path=env["PATH"])
    assert python3, "no python3 on PATH"
    run_checked([python3, "-m", "venv", str(cli)], cwd=work, env=env)
    run_checked([str(cli / "bin" / "pip"), "install", "--quiet", str(wheel)], cwd=work, env=env)
    where = run_checked(
        [str(cli / "bin" / "python"), "-c", "import spaps_cli; print(spaps_cli.__file__)"],
        cwd=work,
        env=env,
    )
    assert Path(where.stdout.strip()).is_relative_to(cli), where.stdout  # not the checkout
    generated = run_checked(
        [str(cli / "bin" / "spaps"), "new", "service", FRESH_NAME], cwd=work, env=env
    )
    root = work / FRESH_NAME
    hint = [line for line in generated.stderr.splitlines() if line.startswith("Next: ")]
    assert len(hint) == 1, generated.stderr
    script = "\n".join(readme_commands((root / "README.md").read_text()))
    install = run_checked(["bash", "-e", "-c", script], cwd=root, env=env)
    return FreshService(root, hint[0], install)
