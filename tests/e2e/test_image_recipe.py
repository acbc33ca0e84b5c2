"""The generated Dockerfile's recipe, executed on this machine without a Docker engine.

This machine has no engine and no registry, so the CI ``image`` job (``docker compose build``,
``up --wait``, ``spaps smoke``) cannot run here. This is the nearest honest stand-in: every
instruction of the fresh-machine service's Dockerfile is followed in order in a scratch "image
root" (``ENV`` into the environment with its absolute paths rooted there, ``WORKDIR``, ``COPY``
of exactly the named sources honouring ``.dockerignore``, ``RUN pip install uv==X`` into a
scratch virtualenv standing in for the base image's ``/usr/local``, ``RUN uv sync ...``
verbatim). Only instructions that need root or a container are skipped, each listed in
:data:`SKIPPED`; an instruction neither handled nor listed fails the test. The layering claim is
checked for real: the first ``uv sync --no-install-project`` runs while ``src/`` is absent.
Then ``CMD`` starts with the api's compose environment (PostgreSQL and Redis of this machine in
place of compose's ``db`` and ``redis``) and the ``HEALTHCHECK`` command must pass.

What it cannot prove: the base image itself (here the machine's Python of the ``FROM`` line's
minor version), the non-root user and ``chown``, and compose networking (host names, published
ports): see docs/SERVICE_LAYOUT.md.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml
from cli.dockerfile import dockerfile_instructions
from spaps_server_quickstart.testing.services import TemporaryDatabase

from .conftest import (
    INSTALL_TIMEOUT,
    CommandFailedError,
    FreshService,
    bare_environment,
    free_port,
    stop_group,
    wait_until,
)

pytestmark = pytest.mark.e2e

#: Instructions that need root or a container, matched in full, and why they are not run here.
#: A new or changed instruction matches none of these and no handler: the test fails until it
#: is handled or listed.
SKIPPED: dict[str, str] = {
    r"RUN groupadd --system --gid 10001 app && useradd --system --uid 10001 --gid app"
    r" --home-dir /app --no-create-home app": "creating a system user needs root",
    r"RUN chown app:app /app": "needs root and the app user",
    r"USER app": "switching user needs root; the process runs as the test's user",
    r"EXPOSE (\d+)": "the port is recorded; nothing to publish without a container",
}

#: What stands in for the base image: no Python download, so the ``FROM`` minor must be here.
BASE_IMAGE_ENV = {"UV_PYTHON_DOWNLOADS": "never"}

START_TIMEOUT = 60.0


@dataclass
class ImageRecipe:
    """The state of the scratch image while the Dockerfile's instructions are followed."""

    context: Path
    root: Path
    env: dict[str, str]
    workdir: Path = Path("/")
    package: str = ""
    python_minor: str = ""
    exposed_port: int = 0
    uv_version: str = ""
    healthcheck: list[str] = field(default_factory=list)
    healthcheck_timeout: float = 30.0
    cmd: list[str] = field(default_factory=list)
    #: (uv sync arguments, names in the work dir just before it ran)
    syncs: list[tuple[str, list[str]]] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    #: the :data:`SKIPPED` pattern each skipped instruction matched
    skipped: list[str] = field(default_factory=list)

    def in_image(self, path: str) -> Path:
        assert path.startswith("/"), path
        return self.root / path.lstrip("/")

    @property
    def venv(self) -> Path:
        return Path(self.env["UV_PROJECT_ENVIRONMENT"])

    def shell(self, command: str) -> subprocess.CompletedProcess[str]:
        """A ``RUN`` in shell form: ``/bin/sh -c`` in the work dir, as the builder runs it."""
        completed = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        if completed.returncode != 0:
            raise CommandFailedError(
                f"RUN {command} exited {completed.returncode}\n--- stdout ---\n"
                f"{completed.stdout[-6000:]}\n--- stderr ---\n{completed.stderr[-6000:]}"
            )
        return completed


class DockerIgnore:
    """``.dockerignore`` as the builder reads it: patterns anchored at the context root, ``*``
    within one path segment, ``**`` across segments, a match on a directory covering its content.
    """

    def __init__(self, text: str) -> None:
        self.patterns: list[re.Pattern[str]] = []
        for line in text.splitlines():
            pattern = line.strip()
            if not pattern or pattern.startswith("#"):
                continue
            unhandled = f".dockerignore pattern {pattern!r} is not handled by this test: handle it"
            assert not pattern.startswith("!"), unhandled
            assert "[" not in pattern, unhandled
            self.patterns.append(re.compile(self._regex(pattern.strip("/"))))

    @staticmethod
    def _regex(pattern: str) -> str:
        out, index = "", 0
        while index < len(pattern):
            if pattern.startswith("**/", index):
                out, index = out + "(?:.*/)?", index + 3
            elif pattern.startswith("**", index):
                out, index = out + ".*", index + 2
            elif pattern[index] == "*":
                out, index = out + "[^/]*", index + 1
            elif pattern[index] == "?":
                out, index = out + "[^/]", index + 1
            else:
                out, index = out + re.escape(pattern[index]), index + 1
        return out

    def ignores(self, relative: str) -> bool:
        parts = relative.split("/")
        prefixes = ["/".join(parts[: count + 1]) for count in range(len(parts))]
        return any(p.fullmatch(prefix) for p in self.patterns for prefix in prefixes)


def _expand(value: str, env: Mapping[str, str]) -> str:
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", lambda m: env.get(m[1] or m[2], ""), value)


def _env(recipe: ImageRecipe, arguments: str) -> None:
    """``ENV K=V ...``: absolute paths written in the Dockerfile are rooted in the image root
    (``/opt/venv`` becomes ``<root>/opt/venv``, in ``PATH`` too), ``$VAR`` expands as the builder
    expands it."""
    for word in shlex.split(arguments):
        key, equals, value = word.partition("=")
        assert equals, f"ENV {arguments!r}: only the KEY=VALUE form is handled"
        pieces = value.split(os.pathsep) if key == "PATH" else [value]
        rooted = [
            str(recipe.in_image(piece)) if piece.startswith("/") else _expand(piece, recipe.env)
            for piece in pieces
        ]
        recipe.env[key] = os.pathsep.join(rooted)


def _copy(recipe: ImageRecipe, arguments: str, ignore: DockerIgnore) -> None:
    words = arguments.split()
    assert not any(word.startswith("--") for word in words), f"COPY {arguments}: flags not handled"
    *sources, destination = words
    target = (
        recipe.in_image(destination)
        if destination.startswith("/")
        else recipe.workdir / destination
    )
    into_directory = destination.endswith("/") or len(sources) > 1
    for source in sources:
        assert not re.search(r"[*?\[]", source), f"COPY {source}: wildcards not handled"
        origin = recipe.context / source
        assert origin.exists(), f"COPY {source}: not in the build context"
        assert not ignore.ignores(source), f"COPY {source}: excluded by .dockerignore"
        if origin.is_file():
            destination_file = target / origin.name if into_directory else target
            destination_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, destination_file)
            recipe.copied.append(source)
            continue
        for path in sorted(origin.rglob("*")):
            relative = path.relative_to(recipe.context).as_posix()
            if path.is_dir() or ignore.ignores(relative):
                continue
            copied = target / path.relative_to(origin)
            copied.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copied)
            recipe.copied.append(relative)


def _healthcheck(recipe: ImageRecipe, arguments: str) -> None:
    options, _, command = arguments.partition(" CMD ")
    assert command, f"HEALTHCHECK {arguments}: only the CMD exec form is handled"
    recipe.healthcheck = json.loads(command)
    timeout = re.search(r"--timeout=(\d+)s\b", options)
    if timeout:
        recipe.healthcheck_timeout = float(timeout[1])


def follow(recipe: ImageRecipe, instructions: list[tuple[str, str]]) -> None:
    """Each instruction in order; the unhandled ones fail (see :data:`SKIPPED`)."""
    ignore = DockerIgnore((recipe.context / ".dockerignore").read_text())
    for kind, arguments in instructions:
        text = f"{kind} {arguments}"
        skip = next((pattern for pattern in SKIPPED if re.fullmatch(pattern, text)), None)
        if skip is not None:
            recipe.skipped.append(skip)
            exposed = re.fullmatch(r"EXPOSE (\d+)", text)
            if exposed:
                recipe.exposed_port = int(exposed[1])
            continue
        if kind == "FROM":
            found = re.fullmatch(r"python:(3\.\d+)-slim", arguments)
            assert found, f"FROM {arguments}: not handled"
            recipe.python_minor = found[1]
        elif kind == "ENV":
            _env(recipe, arguments)
        elif kind == "WORKDIR":
            recipe.workdir = recipe.in_image(arguments)
            recipe.workdir.mkdir(parents=True, exist_ok=True)
        elif kind == "COPY":
            _copy(recipe, arguments, ignore)
        elif kind == "RUN" and (pin := re.fullmatch(r"pip install uv==(\S+)", arguments)):
            recipe.uv_version = pin[1]
            recipe.shell(arguments)
        elif kind == "RUN" and re.fullmatch(r"uv sync(?: --[\w-]+)+", arguments):
            recipe.syncs.append((arguments, sorted(p.name for p in recipe.workdir.iterdir())))
            recipe.shell(arguments)
            if "--no-install-project" in arguments:
                _check_dependency_layer(recipe)
        elif kind == "HEALTHCHECK":
            _healthcheck(recipe, arguments)
        elif kind == "CMD":
            recipe.cmd = json.loads(arguments)
        else:
            pytest.fail(f"{text}: not handled by this test; handle it or list it in SKIPPED")


def _check_dependency_layer(recipe: ImageRecipe) -> None:
    """Right after the dependency layer: third-party packages import, the service does not."""
    probe = (
        "import importlib.util, sys\n"
        "print(sys.version_info[0], sys.version_info[1])\n"
        "print(importlib.util.find_spec('fastapi') is not None)\n"
        "print(importlib.util.find_spec('spaps_server_quickstart') is not None)\n"
        f"print(importlib.util.find_spec({recipe.package!r}) is not None)\n"
    )
    shown = recipe.shell(f"python -c {shlex.quote(probe)}").stdout.split("\n")
    expected = [recipe.python_minor.replace(".", " "), "True", "True", "False"]
    assert shown[:4] == expected, (shown, recipe.env["PATH"])


def compose_api_environment(
    compose: Mapping[str, object], variables: Mapping[str, str], database: TemporaryDatabase
) -> dict[str, str]:
    """The api's ``environment`` with compose's interpolation, and compose's service host names
    replaced by this machine: ``db`` by this test's own PostgreSQL database, ``redis`` by
    127.0.0.1 (the two things only a compose network provides)."""
    services = compose["services"]
    assert isinstance(services, dict)
    environment: dict[str, object] = services["api"]["environment"]

    def interpolate(match: re.Match[str]) -> str:
        name, operator, word = match["name"], match["op"], match["word"] or ""
        value = variables.get(name, "")
        if operator == ":?":
            assert value, f"compose would refuse to start: {name} {word}"
        return value if value or operator != ":-" else word

    pattern = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:[-?])(?P<word>[^}]*))?\}")
    resolved: dict[str, str] = {}
    for key, raw in environment.items():
        value = pattern.sub(interpolate, str(raw))
        parts = urlsplit(value)
        if parts.scheme and parts.hostname == "db":
            assert parts.scheme == urlsplit(database.url).scheme, value
            value = database.url
        elif parts.scheme and parts.hostname in services:
            value = urlunsplit(parts._replace(netloc=f"127.0.0.1:{parts.port}"))
        resolved[key] = value
    return resolved


@contextmanager
def started(
    argv: list[str], *, cwd: Path, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``argv`` in a session of its own, its whole process group stopped after the block."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            stop_group(process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def recipe(fresh_service: FreshService, tmp_path: Path) -> ImageRecipe:
    """The fresh-machine service's Dockerfile followed in ``tmp_path/image``."""
    base = bare_environment()
    instructions = dockerfile_instructions(fresh_service.root)
    minor = re.fullmatch(r"python:(3\.\d+)-slim", instructions[0][1])
    assert instructions[0][0] == "FROM", instructions[0]
    assert minor, instructions[0]
    python = shutil.which(f"python{minor[1]}", path=base["PATH"])
    assert python, f"no python{minor[1]} on this machine: the FROM line's Python is needed"
    tool = tmp_path / "base-image"  # the base image's /usr/local: pip, then the uv it installs
    subprocess.run([python, "-m", "venv", str(tool)], check=True, timeout=120, capture_output=True)
    env = {**base, **BASE_IMAGE_ENV, "PATH": f"{tool / 'bin'}{os.pathsep}{base['PATH']}"}
    (package,) = [init.parent.name for init in (fresh_service.root / "src").glob("*/__init__.py")]
    image = ImageRecipe(
        context=fresh_service.root, root=tmp_path / "image", env=env, package=package
    )
    follow(image, instructions)
    return image


def test_the_dockerfile_recipe_builds_and_the_image_passes_its_health_check(
    recipe: ImageRecipe, postgres_database: TemporaryDatabase, tmp_path: Path
) -> None:
    first, last = recipe.syncs[0], recipe.syncs[-1]
    # The layering claim: dependencies install from the lock alone, before any code is there.
    assert "--no-install-project" in first[0]
    assert first[1] == ["pyproject.toml", "uv.lock", "wheels"], first
    assert "src" in last[1], recipe.syncs
    assert "--no-install-project" not in last[0], recipe.syncs
    # Each skip still applies, to exactly one instruction: a stale entry fails too.
    assert sorted(recipe.skipped) == sorted(SKIPPED), recipe.skipped
    uv = recipe.shell("uv --version").stdout.split()
    assert uv[:2] == ["uv", recipe.uv_version], uv
    assert shutil.which("uv", path=recipe.env["PATH"]) == str(
        recipe.root.parent / "base-image" / "bin" / "uv"
    )
    # .dockerignore honoured: the bytecode the README's test run left in src/ stays out.
    ignore = DockerIgnore((recipe.context / ".dockerignore").read_text())
    src = recipe.context / "src"
    in_src = [path.relative_to(recipe.context).as_posix() for path in src.rglob("*")]
    kept_out = {name for name in in_src if ignore.ignores(name)}
    assert kept_out, "nothing in src/ is .dockerignored: this check needs the README run's bytecode"
    assert not kept_out & set(recipe.copied), sorted(kept_out & set(recipe.copied))
    package = recipe.package
    assert recipe.cmd[1].startswith(f"{package}.main:"), recipe.cmd
    where = recipe.shell(f"python -c 'import {package}; print({package}.__file__)'").stdout.strip()
    assert Path(where).is_relative_to(recipe.venv), where  # --no-editable: not from src/
    assert shutil.which(recipe.cmd[0], path=recipe.env["PATH"]) == str(
        recipe.venv / "bin" / recipe.cmd[0]
    )

    # The container's network namespace: bind loopback on a free port instead of 0.0.0.0:8000.
    port = free_port()
    exposed = str(recipe.exposed_port)
    assert recipe.cmd.count("0.0.0.0") == 1, recipe.cmd
    assert recipe.cmd.count(exposed) == 1, recipe.cmd
    cmd = [{"0.0.0.0": "127.0.0.1", exposed: str(port)}.get(word, word) for word in recipe.cmd]
    local = f"127.0.0.1:{recipe.exposed_port}/"
    assert sum(local in word for word in recipe.healthcheck) == 1, recipe.healthcheck
    healthcheck = [word.replace(local, f"127.0.0.1:{port}/") for word in recipe.healthcheck]

    compose = yaml.safe_load((recipe.context / "compose.yaml").read_text())
    api_env = compose_api_environment(
        compose, {"AUTH_LOCAL_SECRET": secrets.token_urlsafe(32)}, postgres_database
    )
    assert api_env["RUN_MIGRATIONS_ON_STARTUP"] == "true"
    runtime_env = {**recipe.env, **api_env}

    def check(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            cwd=recipe.workdir,
            env=runtime_env,
            capture_output=True,
            text=True,
            timeout=recipe.healthcheck_timeout + 5,
            check=False,
        )

    assert check(healthcheck).returncode != 0, "the health check passes with nothing running"
    log = tmp_path / "uvicorn.log"
    with started(cmd, cwd=recipe.workdir, env=runtime_env, log=log) as server:
        live = f"http://127.0.0.1:{port}/health/live"
        assert wait_until(lambda: _answers(live), timeout=START_TIMEOUT), log.read_text()[-6000:]
        result = check(healthcheck)
        assert result.returncode == 0, (result.stderr, log.read_text()[-6000:])
        # compose's own api check (/health/ready: migrated database, Redis) passes too.
        ready = compose["services"]["api"]["healthcheck"]["test"]
        assert ready[0] == "CMD", ready
        ready_argv = [word.replace(local, f"127.0.0.1:{port}/") for word in ready[1:]]
        result = check(ready_argv)
        assert result.returncode == 0, (result.stderr, log.read_text()[-6000:])
    with pytest.raises(ProcessLookupError):  # nothing of uvicorn's process group is left
        os.killpg(server.pid, 0)
