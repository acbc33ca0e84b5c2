"""Reading the pages a package index serves, in each shape it may serve them.

* the PyPI JSON API project page (``/pypi/<name>/json``): ``info`` and ``releases``;
* the Simple API project page as PEP 691 JSON (``files``, and PEP 700 ``versions`` when the
  server sends them) or as PEP 503 HTML (one ``<a>`` per file, ``data-yanked`` for yanked ones):
  an HTML-only index is read as pip reads it, the file name taken from the link's URL;
* the Simple API root (the list of projects), JSON or HTML, used only as evidence that a URL
  really is a package index.

Each reader returns ``{version text: every file of it is yanked}`` and raises
:class:`PageShapeError` when the page is not the shape it should be. Shape matters as much as
status: a captive portal, a web site or an upload endpoint answering 200 with some HTML must
never read as "a project with no versions", which would make any local version look AHEAD.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

from spaps_cli.release.dist_files import normalise_name, version_of_file

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
#: PEP 629: the one repository version major this reader understands.
REPOSITORY_MAJOR = "1"


class PageShapeError(ValueError):
    """The page answered, but not as the package index page it should be."""


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def is_html(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in {"text/html", SIMPLE_HTML}


def json_api_versions(payload: Any, project: str) -> dict[str, bool]:
    """Versions from a PyPI JSON API project page: the keys of ``releases`` and ``info.version``.

    ``info.version`` counts even when ``releases`` is empty or left out (servers that trim the
    deprecated ``releases`` key still name the latest version there): a page that names a
    version has that version, and an empty ``releases`` must not read as "nothing published".
    """
    if not isinstance(payload, dict):
        raise PageShapeError("the JSON API page is not an object")
    info = payload.get("info")
    if not isinstance(info, dict):
        raise PageShapeError("the JSON API page has no 'info' object")
    _require_name(info.get("name"), project)
    releases = payload.get("releases", {})
    if not isinstance(releases, dict):
        raise PageShapeError("'releases' is not an object")
    result: dict[str, bool] = {}
    for version, files in releases.items():
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise PageShapeError(f"files of {version!r} are not a list of objects")
        result[str(version)] = bool(files) and all(bool(f.get("yanked")) for f in files)
    latest = info.get("version")
    if latest is not None and not isinstance(latest, str):
        raise PageShapeError("'info.version' is not a string")
    if latest:
        result.setdefault(latest, False)
    return result


def simple_json_versions(payload: Any, project: str) -> dict[str, bool]:
    """Versions from a PEP 691 project page: its files' names, plus PEP 700 ``versions``."""
    if not isinstance(payload, dict):
        raise PageShapeError("the Simple API page is not an object")
    _require_api_version(payload.get("meta"))
    _require_name(payload.get("name"), project)
    files = payload.get("files")
    if not isinstance(files, list):
        raise PageShapeError("'files' is not a list")
    flags: dict[str, list[bool]] = {}
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            raise PageShapeError("an entry of 'files' has no 'filename'")
        version = version_of_file(entry["filename"], project)
        if version is not None:
            flags.setdefault(version, []).append(bool(entry.get("yanked", False)))
    result = {version: all(marks) for version, marks in flags.items()}
    listed = payload.get("versions", [])
    if not isinstance(listed, list):  # a string would be read one character at a time
        raise PageShapeError("'versions' is not a list")
    for version in listed:  # PEP 700: versions with no files left count too
        result.setdefault(str(version), False)
    return result


def simple_html_versions(text: str, project: str) -> dict[str, bool]:
    """Versions from a PEP 503 project page, reading each link as pip does.

    A page with links of which none is a file of ``project`` is another page (a listing, a web
    site); a page with no links at all is accepted as a project whose files were all deleted
    only when it declares itself a repository page (PEP 629 ``pypi:repository-version``).
    """
    page = _parse_html(text)
    flags: dict[str, list[bool]] = {}
    for href, attributes, _ in page.anchors:
        version = version_of_file(_link_filename(href), project)
        if version is not None:
            flags.setdefault(version, []).append("data-yanked" in attributes)
    if not flags and (page.anchors or page.repository_version is None):
        raise PageShapeError(f"the HTML page lists no file of {normalise_name(project)}")
    return {version: all(marks) for version, marks in flags.items()}


def root_projects(body: bytes, content_type: str) -> set[str]:
    """The normalised project names an index root lists; PageShapeError if it is not one.

    JSON (PEP 691) must carry ``meta.api-version`` and a ``projects`` list. HTML must declare
    PEP 629 ``pypi:repository-version`` or link at least one project the PEP 503 way: an anchor
    whose text is the project's name and whose URL ends in that name.
    """
    import json

    if is_json(content_type):
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise PageShapeError("the index root is not valid JSON") from exc
        if not isinstance(payload, dict):
            raise PageShapeError("the index root is not an object")
        _require_api_version(payload.get("meta"))
        projects = payload.get("projects")
        if not isinstance(projects, list):
            raise PageShapeError("the index root has no 'projects' list")
        return {
            normalise_name(str(entry.get("name")))
            for entry in projects
            if isinstance(entry, dict) and isinstance(entry.get("name"), str)
        }
    if not is_html(content_type):
        raise PageShapeError(f"the index root is {content_type or 'untyped'}, not JSON or HTML")
    page = _parse_html(body.decode("utf-8", errors="replace"))
    listed = {
        normalise_name(label)
        for href, _, label in page.anchors
        if label and normalise_name(label) == normalise_name(_link_filename(href))
    }
    if page.repository_version is None and not listed:
        raise PageShapeError("the HTML at the index root lists no project")
    return listed


def _require_name(name: object, project: str) -> None:
    if not isinstance(name, str) or normalise_name(name) != normalise_name(project):
        raise PageShapeError(f"the page is for {name!r}, not {normalise_name(project)!r}")


def _require_api_version(meta: object) -> None:
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if not isinstance(version, str):
        raise PageShapeError("no 'meta.api-version': not a PEP 691 page")
    if version.split(".", 1)[0] != REPOSITORY_MAJOR:
        raise PageShapeError(f"Simple API version {version} is not one this tool reads (1.x)")


def _link_filename(href: str) -> str:
    """The file name a link points at: the last segment of its path, unquoted (as pip reads it)."""
    path = urlsplit(href).path.rstrip("/")
    return unquote(path.rsplit("/", 1)[-1])


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[str, dict[str, str | None], str]] = []
        self.repository_version: str | None = None
        self._open: tuple[str, dict[str, str | None]] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "meta" and attributes.get("name") == "pypi:repository-version":
            self.repository_version = attributes.get("content") or ""
        elif tag == "a" and attributes.get("href"):
            self._close()
            self._open = (str(attributes["href"]), attributes)
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close()

    def _close(self) -> None:
        if self._open is not None:
            href, attributes = self._open
            self.anchors.append((href, attributes, "".join(self._text).strip()))
        self._open = None

    def close(self) -> None:
        super().close()
        self._close()


def _parse_html(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    if page.repository_version is not None:
        major = page.repository_version.split(".", 1)[0]
        if major != REPOSITORY_MAJOR:
            raise PageShapeError(
                f"repository version {page.repository_version} is not one this tool reads (1.x)"
            )
    return page
