"""A new service's local signing secret: random, private, untracked, and required by compose.

Local dev tokens (``AUTH_MODE=local``) are HMAC-signed with ``AUTH_LOCAL_SECRET``. A secret that
ships in the template (or defaults in compose) lets anyone who can reach the port mint an admin
token, so every service gets its own, in its untracked ``.env``, and compose refuses to start
without one and publishes ports on loopback only.
"""

from __future__ import annotations

import re
import shutil
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from spaps_server_quickstart.settings import PLACEHOLDER_SECRETS, BaseServiceSettings

from cli.cli_runner import RunSpaps
from spaps_cli.fleet.records import read_dotenv
from spaps_cli.generators.service import ServiceAnswers, generate_service
from spaps_cli.names import service_name
from spaps_cli.plan import ConflictPolicy

KNOWN_SECRETS = PLACEHOLDER_SECRETS | {"local-dev-secret"}


def _generate(root: Path, *, celery: bool = True) -> Path:
    generate_service(
        ServiceAnswers.build(service_name("billing-api"), celery=celery), destination=root
    )
    return root


def _secret(root: Path) -> str:
    return read_dotenv(root / ".env")["AUTH_LOCAL_SECRET"]


def test_a_new_service_gets_a_random_private_secret_in_env(tmp_path: Path) -> None:
    first = _generate(tmp_path / "one")
    second = _generate(tmp_path / "two")

    secret = _secret(first)
    assert len(secret) >= 32
    assert secret not in KNOWN_SECRETS
    assert secret != _secret(second)
    assert stat.S_IMODE((first / ".env").stat().st_mode) == 0o600
    # The service's settings read it from there, as uvicorn started in the directory would.
    settings = BaseServiceSettings(_env_file=first / ".env")  # type: ignore[call-arg]
    assert settings.auth_local_secret.get_secret_value() == secret


def test_env_is_untracked_and_env_example_holds_no_secret(tmp_path: Path) -> None:
    root = _generate(tmp_path / "svc")
    git = shutil.which("git")
    assert git is not None, "git is part of this project's toolchain (CI clones with it)"

    def run(*args: str) -> str:
        return subprocess.run(
            [git, *args], cwd=root, capture_output=True, text=True, check=True
        ).stdout

    run("init", "-q")
    run("add", "-A")

    tracked = run("ls-files").splitlines()
    assert ".env" not in tracked
    assert ".env.example" in tracked
    example = (root / ".env.example").read_text()
    assert _secret(root) not in example
    assert not read_dotenv(root / ".env.example").get("AUTH_LOCAL_SECRET")


def test_rerun_and_force_keep_the_env_file(tmp_path: Path, run_spaps: RunSpaps) -> None:
    root = _generate(tmp_path / "svc")
    env = root / ".env"
    env.write_text(env.read_text() + "DATABASE_URL=postgresql+asyncpg://me@127.0.0.1/mine\n")
    before = env.read_bytes()

    rerun = run_spaps("new", "service", "billing-api", "--dir", str(root))
    forced = run_spaps("new", "service", "billing-api", "--dir", str(root), "--force")

    assert rerun.code == 0, rerun.stderr
    assert forced.code == 0, forced.stderr
    assert env.read_bytes() == before
    assert ".env\n" not in rerun.stderr.replace(".env.example", "")


def test_dry_run_writes_no_env(tmp_path: Path, run_spaps: RunSpaps) -> None:
    root = tmp_path / "svc"

    outcome = run_spaps("new", "service", "billing-api", "--dir", str(root), "--dry-run")

    assert outcome.code == 0, outcome.stderr
    assert re.search(r"create\s+\.env$", outcome.stderr, re.M), outcome.stderr
    assert not root.exists()


def test_a_symlinked_env_is_left_alone(tmp_path: Path) -> None:
    root = _generate(tmp_path / "svc")
    target = tmp_path / "shared.env"
    target.write_text("AUTH_LOCAL_SECRET=from-elsewhere-0123456789abcdef0123\n")
    (root / ".env").unlink()
    (root / ".env").symlink_to(target)

    generate_service(
        ServiceAnswers.build(service_name("billing-api")),
        destination=root,
        policy=ConflictPolicy.FORCE,
    )

    assert (root / ".env").is_symlink()
    assert target.read_text() == "AUTH_LOCAL_SECRET=from-elsewhere-0123456789abcdef0123\n"


# -- compose ------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


class ComposeRefusedError(Exception):
    pass


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}`` rules."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        present = name in env
        empty = not env.get(name)
        if operator in (":?", "?") and (not present or (operator == ":?" and empty)):
            raise ComposeRefusedError(f"{name}: {argument}")
        if operator == ":-" and empty:
            return argument
        if operator == "-" and not present:
            return argument
        return env.get(name, "")

    return _VARIABLE.sub(substitute, value)


def _resolved(root: Path, env: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """Every service's environment and published ports, as compose would run them."""
    compose = yaml.safe_load((root / "compose.yaml").read_text())
    resolved: dict[str, dict[str, object]] = {}
    for name, definition in compose["services"].items():
        environment = {
            key: interpolate(str(value), env)
            for key, value in (definition.get("environment") or {}).items()
        }
        ports = [interpolate(str(port), env) for port in definition.get("ports", [])]
        resolved[name] = {"environment": environment, "ports": ports}
    return resolved


@pytest.mark.parametrize("celery", [True, False], ids=["celery", "no-celery"])
def test_compose_refuses_to_start_without_the_local_secret(tmp_path: Path, celery: bool) -> None:
    root = _generate(tmp_path / "svc", celery=celery)

    with pytest.raises(ComposeRefusedError, match="AUTH_LOCAL_SECRET"):
        _resolved(root, {})
    with pytest.raises(ComposeRefusedError, match="AUTH_LOCAL_SECRET"):
        _resolved(root, {"AUTH_LOCAL_SECRET": ""})


@pytest.mark.parametrize("celery", [True, False], ids=["celery", "no-celery"])
def test_compose_takes_the_secret_from_env_and_publishes_on_loopback_only(
    tmp_path: Path, celery: bool
) -> None:
    root = _generate(tmp_path / "svc", celery=celery)
    dotenv = read_dotenv(root / ".env")

    resolved = _resolved(root, dotenv)

    runs_the_service = {"api", "worker"} if celery else {"api"}
    for name in runs_the_service:
        environment = resolved[name]["environment"]
        assert isinstance(environment, dict)
        assert environment["AUTH_LOCAL_SECRET"] == dotenv["AUTH_LOCAL_SECRET"], name
        assert environment["AUTH_MODE"] == "local"
    published = [port for service in resolved.values() for port in service["ports"]]  # type: ignore[attr-defined]
    assert published
    for port in published:
        assert port.startswith("127.0.0.1:"), port
    for service in resolved.values():
        for key, value in service["environment"].items():  # type: ignore[attr-defined]
            if "SECRET" in key:
                assert value not in KNOWN_SECRETS, key
