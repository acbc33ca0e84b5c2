"""What the package index already has: every version, pre-releases and yanked ones included.

Only an HTTP 404 means "never published". A time-out, a 5xx, a DNS or connection failure, any
other status or a body that is not the documented JSON is UNVERIFIABLE: the release gate fails
closed instead of treating "could not ask" as "0.0.0" (the bug in the workflow this replaces).

Two wire formats, chosen from the URL:

* ``https://pypi.org`` (or any URL not ending in ``/simple``): the PyPI JSON API,
  ``GET {index}/pypi/{name}/json``; versions are the keys of ``releases``. A version whose files
  were all deleted is still listed there, and still counts: the index will not take it back.
* ``https://my.index/simple`` (path ending in ``/simple``): the Simple API in its PEP 691 JSON
  form, ``GET {index}/{name}/`` with ``Accept: application/vnd.pypi.simple.v1+json``; versions
  are ``versions`` (PEP 700) or, for older servers, read from the file names.

``--timeout`` is a deadline for the whole lookup. httpx's timeouts apply to each connect, read
and write separately (and not to DNS), so an index that drips its answer a few bytes at a time
would keep the release waiting for as long as it likes; the request therefore runs in a daemon
thread that the caller waits for at most ``timeout`` seconds, and the thread stops reading as
soon as the caller has given up.

httpx is imported inside :func:`lookup` so ``spaps --help`` never pays for it.
"""

from __future__ import annotations

import json
import math
import re
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from spaps_cli.errors import UsageError

if TYPE_CHECKING:
    from packaging.version import Version

DEFAULT_INDEX = "https://pypi.org"
DEFAULT_TIMEOUT = 10.0
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
#: Known aliases accepted by ``--index`` and the reusable workflow's ``index`` input.
INDEX_ALIASES = {"pypi": "https://pypi.org", "testpypi": "https://test.pypi.org"}


class LookupStatus(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"  # a real 404: the project has never been published here
    UNVERIFIABLE = "unverifiable"
    SKIPPED = "skipped"  # --offline


@dataclass(frozen=True)
class IndexLookup:
    status: LookupStatus
    url: str
    versions: frozenset[Version] = frozenset()
    yanked: frozenset[Version] = frozenset()  # every file of these versions is yanked
    reason: str = ""
    ignored: list[str] = field(default_factory=list)  # listed versions that are not PEP 440

    @property
    def highest(self) -> Version | None:
        return max(self.versions) if self.versions else None

    @property
    def highest_final(self) -> Version | None:
        finals = [v for v in self.versions if not v.is_prerelease]
        return max(finals) if finals else None


def normalise_name(name: str) -> str:
    """PEP 503 normalised project name (``Spaps_CLI`` -> ``spaps-cli``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def resolve_index(index: str | None) -> str:
    value = (index or DEFAULT_INDEX).strip()
    return INDEX_ALIASES.get(value.lower(), value).rstrip("/")


def project_url(index: str, name: str) -> str:
    base = resolve_index(index)
    if base.endswith("/simple"):
        return f"{base}/{normalise_name(name)}/"
    return f"{base}/pypi/{normalise_name(name)}/json"


def skipped(index: str | None, name: str) -> IndexLookup:
    return IndexLookup(
        LookupStatus.SKIPPED, project_url(resolve_index(index), name), reason="--offline"
    )


def validate_options(index: str | None, timeout: float, name: str = "x") -> str:
    """The project URL for ``--index``/``--timeout``; either one malformed is a usage error.

    Called before anything is read or written, so a typo in an option is exit 2 with one line
    naming the option, never a traceback or an UNVERIFIABLE that would send someone to retry.
    """
    import httpx

    if not math.isfinite(timeout) or timeout <= 0:
        raise UsageError(
            f"--timeout {timeout:g} is not a positive number of seconds", hint="e.g. --timeout 10"
        )
    url = project_url(resolve_index(index), name)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UsageError(
            f"--index {index!r} is not a valid URL ({exc})",
            hint="pass pypi, testpypi or an http(s):// URL",
        ) from exc
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise UsageError(
            f"--index {index!r} is not an http(s) URL with a host",
            hint="pass pypi, testpypi or an http(s):// URL such as https://pypi.org",
        )
    return url


def lookup(name: str, *, index: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> IndexLookup:
    """Ask the index for every version of ``name`` within ``timeout`` seconds in total.

    Never raises for network trouble (that is UNVERIFIABLE); a malformed ``index`` or
    ``timeout`` raises :class:`~spaps_cli.errors.UsageError`.
    """
    url = validate_options(index, timeout, name)
    gave_up = threading.Event()
    answers: list[IndexLookup] = []
    failures: list[BaseException] = []

    def ask() -> None:
        try:
            answers.append(_fetch(url, timeout, gave_up))
        except BaseException as exc:  # handed to the caller's thread, which re-raises it
            failures.append(exc)

    worker = threading.Thread(target=ask, name="spaps-index-lookup", daemon=True)
    worker.start()
    worker.join(timeout)
    if failures:
        raise failures[0]
    if not answers:
        gave_up.set()  # the worker stops at its next chunk; as a daemon it never blocks exit
        return _unverifiable(url, f"timed out after {timeout:g}s")
    return answers[0]


def _fetch(url: str, timeout: float, gave_up: threading.Event) -> IndexLookup:
    """One GET of ``url``, read in chunks so it can stop when the caller has given up."""
    import httpx

    simple = url.endswith("/")
    headers = {"Accept": SIMPLE_JSON if simple else "application/json"}
    headers["User-Agent"] = "spaps-release"
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, headers=headers) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code == 404:
                return IndexLookup(LookupStatus.NOT_FOUND, url, reason="404 Not Found")
            if response.status_code != 200:
                return _unverifiable(url, f"HTTP {response.status_code} from the index")
            chunks: list[bytes] = []
            for chunk in response.iter_bytes():
                if gave_up.is_set():
                    return _unverifiable(url, f"timed out after {timeout:g}s")
                chunks.append(chunk)
    except httpx.TimeoutException:
        return _unverifiable(url, f"timed out after {timeout:g}s")
    except httpx.InvalidURL as exc:  # e.g. a redirect to a malformed Location
        return _unverifiable(url, f"the index sent an invalid URL: {exc}")
    except httpx.HTTPError as exc:  # DNS, refused connection, TLS, protocol errors
        return _unverifiable(url, f"{type(exc).__name__}: {exc or 'connection failed'}")
    try:
        payload = json.loads(b"".join(chunks))
    except ValueError:
        return _unverifiable(url, "the index answered 200 with a body that is not JSON")
    try:
        raw = _simple_versions(payload) if simple else _json_api_versions(payload)
    except (TypeError, KeyError, AttributeError) as exc:
        return _unverifiable(
            url, f"unexpected JSON from the index ({exc.__class__.__name__}: {exc})"
        )
    return _parsed(url, raw)


def _unverifiable(url: str, reason: str) -> IndexLookup:
    return IndexLookup(LookupStatus.UNVERIFIABLE, url, reason=reason)


def _json_api_versions(payload: Any) -> dict[str, bool]:
    """``{version: all files yanked}`` from a PyPI JSON API project page."""
    releases = payload["releases"]
    if not isinstance(releases, dict):
        raise TypeError("'releases' is not an object")
    result: dict[str, bool] = {}
    for version, files in releases.items():
        if not isinstance(files, list):
            raise TypeError(f"files of {version!r} are not a list")
        result[str(version)] = bool(files) and all(bool(f["yanked"]) for f in files)
    return result


def _simple_versions(payload: Any) -> dict[str, bool]:
    """``{version: all files yanked}`` from a PEP 691 JSON Simple API page."""
    files = payload["files"]
    if not isinstance(files, list):
        raise TypeError("'files' is not a list")
    yanked: dict[str, list[bool]] = {}
    for entry in files:
        version = _version_of_file(str(entry["filename"]))
        if version is not None:
            yanked.setdefault(version, []).append(bool(entry.get("yanked", False)))
    result = {version: all(flags) for version, flags in yanked.items()}
    listed = payload.get("versions", [])
    if not isinstance(listed, list):  # a string would be read one character at a time
        raise TypeError("'versions' is not a list")
    for version in listed:  # PEP 700: versions with no files left count too
        result.setdefault(str(version), False)
    return result


def _version_of_file(filename: str) -> str | None:
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion

    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        if filename.endswith((".tar.gz", ".zip")):
            return str(parse_sdist_filename(filename)[1])
    except (InvalidSdistFilename, InvalidWheelFilename, InvalidVersion):
        return None
    return None  # eggs and other legacy formats carry no reliable version


def _parsed(url: str, raw: dict[str, bool]) -> IndexLookup:
    from packaging.version import InvalidVersion

    from spaps_cli.release.version import pep440

    versions: set[Version] = set()
    yanked: set[Version] = set()
    ignored: list[str] = []
    for text, all_yanked in raw.items():
        try:
            version = pep440(text)
        except InvalidVersion:
            ignored.append(text)  # pre-PEP 440 uploads: older than anything we can release
            continue
        versions.add(version)
        if all_yanked:
            yanked.add(version)
    return IndexLookup(
        LookupStatus.FOUND,
        url,
        versions=frozenset(versions),
        yanked=frozenset(yanked),
        reason=f"{len(versions)} version(s) on the index",
        ignored=sorted(ignored),
    )
