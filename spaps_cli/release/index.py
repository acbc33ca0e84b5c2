"""What the package index already has: every version, pre-releases and yanked ones included.

"Not published" has to be proved, never assumed. A 404 for the project's page means NOT_FOUND
only when the same base URL demonstrably is a package index: it answers for another project
that is on every index (``pip``, ``setuptools`` or ``wheel``) in the expected shape, or
(Simple API) its root lists projects the PEP 691/503 way and not this one. A 404 from a wrong base path (``.../legacy``,
``.../pypi``, a typo) fails that proof, and so does a 404 reached through a redirect to some
other path: both are UNVERIFIABLE, like a time-out, a 5xx, a DNS or connection failure, any
other status, or a body that is not the page it should be. The release gate fails closed
instead of treating "could not ask" as "0.0.0".

Two wire formats, chosen from the URL:

* ``https://pypi.org`` (or any URL whose last segment is not ``simple``/``+simple``): the PyPI
  JSON API, ``GET {index}/pypi/{name}/json``; versions are the keys of ``releases`` plus
  ``info.version``. A version whose files were all deleted is still listed, and still counts.
* ``https://my.index/simple`` (devpi: ``.../+simple``): the Simple API, ``GET {index}/{name}/``
  asking for PEP 691 JSON and accepting PEP 503 HTML, as pip does; versions are read from every
  file name pip understands (:mod:`.dist_files`) plus PEP 700 ``versions`` when present.

Credentials in ``--index`` (``https://user:token@host/...``) are used for the requests and never
shown: every URL and reason that leaves this module is the redacted form (:func:`display_url`).

``--timeout`` is a deadline for the whole lookup (the page and the proof of absence). httpx's
timeouts apply to each connect, read and write separately (and not to DNS), so an index that
drips its answer a few bytes at a time would keep the release waiting for as long as it likes;
the requests therefore run in a daemon thread that the caller waits for at most ``timeout``
seconds, and the thread stops reading as soon as the caller has given up.

httpx is imported inside :func:`lookup` so ``spaps --help`` never pays for it.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from spaps_cli.errors import UsageError
from spaps_cli.progress import StepHook, no_progress
from spaps_cli.release import index_pages
from spaps_cli.release.dist_files import normalise_name as normalise_name
from spaps_cli.thread_call import DeadlinePassed, call_on_thread

if TYPE_CHECKING:
    from packaging.version import Version

DEFAULT_INDEX = "https://pypi.org"
DEFAULT_TIMEOUT = 10.0
SIMPLE_JSON = index_pages.SIMPLE_JSON
#: What a Simple API request asks for: PEP 691 JSON first, PEP 503 HTML as pip accepts it.
SIMPLE_ACCEPT = f"{SIMPLE_JSON}, {index_pages.SIMPLE_HTML};q=0.2, text/html;q=0.01"
#: Projects every index and mirror carries (they bootstrap every virtualenv), asked in turn
#: until one answers: if the index answers for one in the expected shape, the base URL is right
#: and a 404 for ours is real. Several, because a test index need not carry each of them.
REFERENCE_PROJECTS = ("pip", "setuptools", "wheel")
#: Answers larger than this are not read to the end (an index root can list a million names).
MAX_BODY_BYTES = 64 * 1024 * 1024
#: Last path segments that select the Simple API (devpi serves it under ``+simple``).
SIMPLE_SEGMENTS = frozenset({"simple", "+simple"})
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


def resolve_index(index: str | None) -> str:
    """The base URL for ``--index``: None is the public index; an empty value is refused.

    An empty ``--index ""`` is what an unset CI variable expands to; reading it as "the public
    index" would publish (or compare) somewhere nobody chose.
    """
    if index is None:
        return DEFAULT_INDEX
    value = index.strip()
    if not value:
        raise UsageError(
            "--index is empty",
            hint="leave --index out for https://pypi.org, or pass pypi, testpypi or a URL",
        )
    return INDEX_ALIASES.get(value.lower(), value).rstrip("/")


def is_simple(base: str) -> bool:
    """True when ``base`` names the Simple API (a malformed URL is refused later, by httpx)."""
    try:
        path = urlsplit(base).path
    except ValueError:
        return False
    return path.rstrip("/").rsplit("/", 1)[-1] in SIMPLE_SEGMENTS


def project_url(index: str, name: str) -> str:
    base = resolve_index(index)
    if is_simple(base):
        return f"{base}/{normalise_name(name)}/"
    return f"{base}/pypi/{normalise_name(name)}/json"


def display_url(url: str) -> str:
    """``url`` safe to print: user name, password or token and query values replaced by ***."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # malformed: hide what looks like user info and a query, as text
        scheme, slashes, rest = url.partition("//")
        rest = rest.split("?", 1)[0] + ("?***" if "?" in rest else "")
        if "@" in rest:
            rest = "***@" + rest.rpartition("@")[2]
        return f"{scheme}{slashes}{rest}"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"***@{host}" + (f":{port}" if port is not None else "")
    query = "***" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _scrub(text: str, url: str) -> str:
    """``text`` with every secret part of ``url`` (user info, query) replaced by ***.

    An exception message may quote the URL it failed on. The user info is replaced with its
    ``@`` and the query with its ``?``, so a one-letter user name does not garble the text;
    the user name and password on their own only when they are long enough to be secrets.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        userinfo = url.rpartition("@")[0].partition("//")[2]
        return text.replace(f"{userinfo}@", "***@") if userinfo else text
    userinfo = parts.netloc.rpartition("@")[0]
    secrets = [f"{userinfo}@" if userinfo else "", f"?{parts.query}" if parts.query else ""]
    secrets += [part for part in (parts.username, parts.password) if part and len(part) >= 4]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***@" if secret.endswith("@") else "***")
    return text


def skipped(index: str | None, name: str) -> IndexLookup:
    return IndexLookup(
        LookupStatus.SKIPPED,
        display_url(project_url(resolve_index(index), name)),
        reason="--offline",
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
    shown = display_url(str(index))
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise UsageError(
            f"--index {shown!r} is not a valid URL ({_scrub(str(exc), str(index))})",
            hint="pass pypi, testpypi or an http(s):// URL",
        ) from exc
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise UsageError(
            f"--index {shown!r} is not an http(s) URL with a host",
            hint="pass pypi, testpypi or an http(s):// URL such as https://pypi.org",
        )
    return url


def lookup(
    name: str,
    *,
    index: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    on_step: StepHook = no_progress,
) -> IndexLookup:
    """Ask the index for every version of ``name`` within ``timeout`` seconds in total.

    Never raises for network trouble (that is UNVERIFIABLE); a malformed ``index`` or
    ``timeout`` raises :class:`~spaps_cli.errors.UsageError`.
    """
    url = validate_options(index, timeout, name)
    base = resolve_index(index)
    gave_up = threading.Event()
    try:
        with on_step(f"asking {display_url(url)} for {name}"):
            return call_on_thread(
                lambda: _ask(base, url, name, timeout, gave_up),
                name="spaps-index-lookup",
                timeout=timeout,
            )
    except DeadlinePassed:
        gave_up.set()  # the worker stops at its next chunk; as a daemon it never blocks exit
        return _unverifiable(url, f"timed out after {timeout:g}s")


class _GaveUp(Exception):
    """The caller's deadline passed while this thread was still reading."""


class _TooLarge(Exception):
    """The answer is larger than :data:`MAX_BODY_BYTES`: not a page this tool reads."""


@dataclass(frozen=True)
class _Answer:
    status: int
    content_type: str
    body: bytes
    moved_to: str | None  # the final URL when redirects led to another path, else None


def _ask(base: str, url: str, name: str, timeout: float, gave_up: threading.Event) -> IndexLookup:
    """The project page, and on a 404 the proof that the base URL really is a package index."""
    import httpx

    simple = is_simple(base)
    headers = {
        "Accept": SIMPLE_ACCEPT if simple else "application/json",
        "User-Agent": "spaps-release",
    }
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, headers=headers) as client:
            answer = _get(client, url, gave_up)
            if answer.status == 404:
                return _absent(client, base, url, name, answer, gave_up)
            if answer.status != 200:
                return _unverifiable(url, f"HTTP {answer.status} from the index")
            return _read_project(url, name, answer, simple=simple)
    except _GaveUp:
        return _unverifiable(url, f"timed out after {timeout:g}s")
    except _TooLarge:
        return _unverifiable(url, f"an answer larger than {MAX_BODY_BYTES // 2**20} MiB")
    except httpx.TimeoutException:
        return _unverifiable(url, f"timed out after {timeout:g}s")
    except httpx.InvalidURL as exc:  # e.g. a redirect to a malformed Location
        return _unverifiable(url, f"the index sent an invalid URL: {_scrub(str(exc), url)}")
    except httpx.HTTPError as exc:  # DNS, refused connection, TLS, protocol errors
        detail = _scrub(str(exc), url) or "connection failed"
        return _unverifiable(url, f"{type(exc).__name__}: {detail}")


def _get(client: Any, url: str, gave_up: threading.Event) -> _Answer:
    """One GET of ``url``, read in chunks so it can stop when the caller has given up."""
    with client.stream("GET", url) as response:
        chunks: list[bytes] = []
        size = 0
        if response.status_code == 200:
            for chunk in response.iter_bytes():
                if gave_up.is_set():
                    raise _GaveUp
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _TooLarge
                chunks.append(chunk)
        final = str(response.url)
        moved = urlsplit(final).path.rstrip("/") != urlsplit(url).path.rstrip("/")
        return _Answer(
            response.status_code,
            response.headers.get("Content-Type", ""),
            b"".join(chunks),
            final if moved else None,
        )


def _absent(
    client: Any, base: str, url: str, name: str, answer: _Answer, gave_up: threading.Event
) -> IndexLookup:
    """NOT_FOUND if the 404 is the index's own answer for this project, else UNVERIFIABLE."""
    if answer.moved_to is not None:
        return _unverifiable(
            url,
            f"the index redirected to {display_url(answer.moved_to)}, which answered 404: a"
            " redirect to another path proves nothing; pass the URL it should be",
        )
    missing = _not_an_index(client, base, name, gave_up)
    if missing is not None:
        return _unverifiable(
            url,
            f"404 for the project, but nothing shows {display_url(base)} is a package index"
            f" ({missing}); check the --index URL (JSON API: https://host, Simple API:"
            " https://host/simple)",
        )
    return IndexLookup(
        LookupStatus.NOT_FOUND,
        display_url(url),
        reason="404 Not Found; the index answers for other projects in the expected shape",
    )


def _not_an_index(client: Any, base: str, name: str, gave_up: threading.Event) -> str | None:
    """None when ``base`` answers as a package index; else what it answered instead.

    JSON API: a reference project's page is a JSON API page. Simple API: a reference project's
    page is a project page (JSON or HTML), or the root lists projects and not ``name``.
    """
    simple = is_simple(base)
    seen: list[str] = []
    for reference in REFERENCE_PROJECTS:
        answer = _get(client, project_url(base, reference), gave_up)
        if answer.status == 200 and answer.moved_to is None:
            try:
                _read_versions(reference, answer, simple=simple)
                return None
            except (index_pages.PageShapeError, ValueError, RecursionError) as exc:
                seen.append(f"{reference}: {exc.__class__.__name__}")
                continue
        seen.append(f"{reference}: HTTP {answer.status}")
        if answer.status != 404:
            break  # a server that fails one way fails the same way for the next
    if not simple:
        return ", ".join(seen)
    root = _get(client, f"{base}/", gave_up)
    if root.status != 200 or root.moved_to is not None:
        return f"{', '.join(seen)}, root: HTTP {root.status}"
    try:
        listed = index_pages.root_projects(root.body, root.content_type)
    except index_pages.PageShapeError as exc:
        return f"{', '.join(seen)}, root: {exc}"
    if normalise_name(name) in listed:
        return f"the root lists {normalise_name(name)} but its page is missing"
    return None


def _read_project(url: str, name: str, answer: _Answer, *, simple: bool) -> IndexLookup:
    try:
        raw = _read_versions(name, answer, simple=simple)
    except RecursionError:
        return _unverifiable(url, "the index answered with JSON nested too deeply to read")
    except index_pages.PageShapeError as exc:
        return _unverifiable(url, f"unexpected page from the index: {exc}")
    except ValueError:
        return _unverifiable(url, "the index answered 200 with a body that is not JSON")
    return _parsed(url, raw)


def _read_versions(name: str, answer: _Answer, *, simple: bool) -> dict[str, bool]:
    """``{version: all files yanked}`` from a 200 answer, by format and content type."""
    if simple and index_pages.is_html(answer.content_type):
        return index_pages.simple_html_versions(answer.body.decode("utf-8", "replace"), name)
    if simple and not index_pages.is_json(answer.content_type):
        raise index_pages.PageShapeError(
            f"the Simple API answered {answer.content_type or 'untyped'}, not JSON or HTML"
        )
    payload = json.loads(answer.body)
    if simple:
        return index_pages.simple_json_versions(payload, name)
    return index_pages.json_api_versions(payload, name)


def _unverifiable(url: str, reason: str) -> IndexLookup:
    return IndexLookup(LookupStatus.UNVERIFIABLE, display_url(url), reason=_scrub(reason, url))


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
        display_url(url),
        versions=frozenset(versions),
        yanked=frozenset(yanked),
        reason=f"{len(versions)} version(s) on the index",
        ignored=sorted(ignored),
    )
