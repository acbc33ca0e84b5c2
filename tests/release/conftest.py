"""A real package index on loopback, and a factory for throw-away distributions.

The server speaks the shapes package indexes serve: the PyPI JSON API (``/pypi/<name>/json``),
the Simple API as PEP 691 JSON or PEP 503 HTML by the Accept header (``/simple/``), an
HTML-only PEP 503 index (``/html/simple/``), a base path that redirects every project to a page
that does not exist (``/moved/simple/``), and ``pip`` on every one of them (what proves a base
URL is an index; ``/no-pip`` is a JSON API index with ``setuptools`` instead). Any other path is a 404, like a wrong base path. It misbehaves on demand:
404, 500, a body that is not JSON, JSON nested 100,000 deep, an endpoint that never answers and
one that drips its answer a few bytes at a time (for time-outs). Every test talks to it over
real HTTP through httpx, as a release would.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


def _file(name: str, version: str, kind: str, *, yanked: bool = False) -> dict[str, Any]:
    stem = name.replace("-", "_")
    filename = (
        f"{stem}-{version}-py3-none-any.whl"
        if kind == "bdist_wheel"
        else f"{stem}-{version}.tar.gz"
    )
    return {
        "comment_text": "",
        "digests": {"sha256": "0" * 64, "md5": "0" * 32, "blake2b_256": "0" * 64},
        "downloads": -1,
        "filename": filename,
        "has_sig": False,
        "md5_digest": "0" * 32,
        "packagetype": kind,
        "python_version": "py3" if kind == "bdist_wheel" else "source",
        "requires_python": ">=3.11",
        "size": 1234,
        "upload_time": "2026-01-01T00:00:00",
        "upload_time_iso_8601": "2026-01-01T00:00:00.000000Z",
        "url": f"https://files.example/{filename}",
        "yanked": yanked,
        "yanked_reason": "broken build" if yanked else None,
    }


def _release(name: str, version: str, *, yanked: bool = False) -> list[dict[str, Any]]:
    return [
        _file(name, version, "sdist", yanked=yanked),
        _file(name, version, "bdist_wheel", yanked=yanked),
    ]


#: demo-pkg on the index: finals, a yanked final, a pre-release on top, a version whose files
#: were deleted, and a legacy non-PEP 440 upload. Highest: 1.3.0b1; highest final: 1.2.0 (yanked).
DEMO_RELEASES: dict[str, list[dict[str, Any]]] = {
    "0.9": [],
    "1.0.0": _release("demo-pkg", "1.0.0"),
    "1.1.0": _release("demo-pkg", "1.1.0"),
    "1.2.0rc1": _release("demo-pkg", "1.2.0rc1"),
    "1.2.0": _release("demo-pkg", "1.2.0", yanked=True),
    "1.3.0b1": _release("demo-pkg", "1.3.0b1"),
    "2004d": [_file("demo-pkg", "2004d", "sdist")],
}


#: Files in formats older than wheels and .tar.gz, with no PEP 700 ``versions`` to lean on.
#: Highest: 3.1 (an .exe only); pip reads every one of these names.
LEGACY_FILES = [
    "legacy_files-1.0.tar.bz2",
    "legacy-files-2.0.zip",
    "legacy_files-2.5-py2.7.egg",
    "legacy-files-3.0-rc1.tgz",
    "legacy_files-3.1.win32-py2.7.exe",
    "legacy_files-3.1.win-amd64.msi",
    "other_project-9.0.tar.gz",
]

#: The project an index proves itself with (every index and mirror has it).
PIP_RELEASES: dict[str, list[dict[str, Any]]] = {"24.0": []}

#: What a foreign distribution of the runtime's name has on the public index (names and
#: version numbers only): its releases run up to 0.9.1.
FOREIGN_RUNTIME = "spaps-server-quickstart"
FOREIGN_RUNTIME_VERSIONS = ["0.1.0", "0.1.1", "0.1.2", "0.5.0", "0.9.0", "0.9.1"]


#: Projects with two release series on the index (name -> versions, files for each).
SERIES_PROJECTS: dict[str, list[str]] = {
    "next-rc": ["1.0.0", "1.1.0", "2.0.0rc1"],  # the next series is in pre-release
    "next-out": ["1.0.0", "1.1.0", "1.1.1", "2.0.0"],  # the next series is out
}


def json_api_page(name: str, releases: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    latest = max(releases) if releases else None
    return {
        "info": {"name": name, "version": latest, "summary": "demo", "yanked": False},
        "last_serial": 42,
        "releases": releases,
        "urls": releases.get(latest or "", []),
        "vulnerabilities": [],
    }


def simple_html(filenames: list[str], *, yanked: frozenset[str] = frozenset()) -> bytes:
    """A PEP 503 project page: one anchor per file, hashes in the fragment, as PyPI writes it."""
    links = "\n".join(
        f'<a href="../../files/{html.escape(f)}#sha256={"0" * 64}"'
        f"{' data-yanked=' + chr(34) + 'broken' + chr(34) if f in yanked else ''}>{html.escape(f)}</a><br/>"
        for f in filenames
    )
    return (
        "<!DOCTYPE html><html><head>"
        '<meta name="pypi:repository-version" content="1.0">'
        f"<title>Links</title></head><body>\n{links}\n</body></html>"
    ).encode()


def simple_root_html(names: list[str]) -> bytes:
    links = "\n".join(f'<a href="/simple/{n}/">{n}</a>' for n in names)
    return f"<!DOCTYPE html><html><body>\n{links}\n</body></html>".encode()


def simple_page(name: str, releases: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    files = [
        {
            "filename": f["filename"],
            "url": f["url"],
            "hashes": {"sha256": "0" * 64},
            "requires-python": ">=3.11",
            "yanked": f["yanked_reason"] if f["yanked"] else False,
        }
        for files in releases.values()
        for f in files
    ]
    return {
        "meta": {"api-version": "1.1"},
        "name": name,
        "files": files,
        "versions": list(releases),
    }


@dataclass
class IndexServer:
    url: str
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Accept)
    release_hang: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    server_state: IndexServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        return

    def do_GET(self) -> None:
        state = self.server_state
        accept = self.headers.get("Accept", "")
        state.requests.append((self.path, accept))
        parts = [p for p in self.path.split("?", 1)[0].split("/") if p]
        wants_json = SIMPLE_JSON in accept
        if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json":
            self._project(parts[1], simple=False)
        elif parts == ["simple"]:
            names = ["pip", "demo-pkg", FOREIGN_RUNTIME]
            if wants_json:
                page = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
                self._send(200, json.dumps(page).encode(), SIMPLE_JSON)
            else:
                self._send(200, simple_root_html(names), "text/html")
        elif len(parts) == 2 and parts[0] == "simple":
            self._project(parts[1], simple=True, html_only=not wants_json)
        elif len(parts) == 3 and parts[:2] == ["html", "simple"]:
            self._project(parts[2], simple=True, html_only=True)
        elif len(parts) == 4 and parts[:2] == ["no-pip", "pypi"] and parts[3] == "json":
            if parts[2] == "setuptools":  # an index without pip: setuptools proves it instead
                page = json_api_page("setuptools", {"80.0": []})
                self._send(200, json.dumps(page).encode(), "application/json")
            else:
                self._send(404, b'{"message": "Not Found"}', "application/json")
        elif parts == ["moved", "simple"]:
            self._redirect("/simple/")
        elif len(parts) == 3 and parts[:2] == ["moved", "simple"]:
            self._redirect(f"/simple/gone/{parts[2]}/")
        else:
            self._send(404, b"404 Not Found", "text/plain")

    def _project(self, name: str, *, simple: bool, html_only: bool = False) -> None:
        releases = {"pip": PIP_RELEASES, "demo-pkg": DEMO_RELEASES}.get(name)
        if name == FOREIGN_RUNTIME:
            releases = {v: _release(name, v) for v in FOREIGN_RUNTIME_VERSIONS}
        elif name in SERIES_PROJECTS:
            releases = {v: _release(name, v) for v in SERIES_PROJECTS[name]}
        if name == "broken":
            self._send(500, b"Internal Server Error", "text/plain")
        elif name == "slow":
            self.server_state.release_hang.wait(timeout=10)
            self._send(200, b"{}", "application/json")
        elif name == "garbage":
            self._send(200, b"<html>captive portal</html>", "text/html")
        elif name == "drip":
            self._drip(json.dumps(json_api_page(name, DEMO_RELEASES)).encode())
        elif name == "deep":
            self._send(200, b"[" * 100_000 + b"]" * 100_000, "application/json")
        elif name == "versions-string":
            page = {"meta": {"api-version": "1.1"}, "name": name, "files": [], "versions": "9.0"}
            self._send(200, json.dumps(page).encode(), SIMPLE_JSON)
        elif name == "wrong-shape":
            self._send(200, json.dumps({"releases": ["1.0"]}).encode(), "application/json")
        elif name == "info-only":
            page = json_api_page(name, {})
            page["info"]["version"] = "2.0.0"
            self._send(200, json.dumps(page).encode(), "application/json")
        elif name == "legacy-files":
            if simple and html_only:
                self._send(200, simple_html(LEGACY_FILES), "text/html")
            else:
                files = [{"filename": f, "url": f"/files/{f}", "hashes": {}} for f in LEGACY_FILES]
                page = {"meta": {"api-version": "1.0"}, "name": name, "files": files}
                self._send(200, json.dumps(page).encode(), SIMPLE_JSON)
        elif releases is not None and simple and html_only:
            files = [f["filename"] for files in releases.values() for f in files]
            gone = frozenset(f["filename"] for fs in releases.values() for f in fs if f["yanked"])
            self._send(200, simple_html(files, yanked=gone), "text/html")
        elif releases is not None:
            page = simple_page(name, releases) if simple else json_api_page(name, releases)
            self._send(
                200, json.dumps(page).encode(), SIMPLE_JSON if simple else "application/json"
            )
        else:
            self._send(404, json.dumps({"message": "Not Found"}).encode(), "application/json")

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _drip(self, body: bytes) -> None:
        """Headers at once, then 20 bytes every 0.2 s: each read is quick, the whole is not."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for start in range(0, len(body), 20):
            if self.server_state.release_hang.wait(timeout=0.2):
                return
            try:
                self.wfile.write(body[start : start + 20])
                self.wfile.flush()
            except OSError:  # the client gave up, as it should
                return

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="session")
def index_server() -> Iterator[IndexServer]:
    state = IndexServer(url="")
    handler = type("Handler", (_Handler,), {"server_state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        state.release_hang.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "{version}"
description = "A demo distribution."
license = {{ text = "MIT" }}

[project.urls]
Repository = "https://github.com/acme/demo"

[tool.hatch.build.targets.wheel]
packages = ["demo_pkg"]

[tool.spaps.release]
tag-prefix = "demo-v"
"""

CHANGELOG = """\
# Changelog

All notable changes are documented here.

## [Unreleased]

### Added
- A shiny thing.

## [1.0.0] - 2026-01-01

### Added
- The first thing.

[Unreleased]: https://github.com/acme/demo/compare/demo-v1.0.0...HEAD
[1.0.0]: https://github.com/acme/demo/releases/tag/demo-v1.0.0
"""


def make_distribution(
    root: Path,
    *,
    name: str = "demo-pkg",
    version: str = "1.0.0",
    dunder: str | None = None,
    changelog: str | None = CHANGELOG,
) -> Path:
    """A minimal releasable distribution: pyproject, demo_pkg/__init__.py, CHANGELOG.md."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(name=name, version=version))
    package = root / "demo_pkg"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(f'"""Demo."""\n\n__version__ = "{dunder or version}"\n')
    if changelog is not None:
        (root / "CHANGELOG.md").write_text(changelog)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (but .git) with its bytes, to prove nothing was written."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def spaps(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run ``spaps ARGS`` in-process from directory ``cwd``; returns code, stdout, stderr."""
    from spaps_cli.app import run

    def invoke(*args: str, cwd: Path) -> CliResult:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = run(list(args))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return invoke
