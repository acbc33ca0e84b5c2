"""The services on record and what makes two database URLs the same database.

``spaps doctor --fleet DIR`` compares a service's database with every service on record:

- the sibling services under ``DIR``: every ``DIR/*/pyproject.toml`` with a ``[tool.spaps]``
  table, with the database URL from its ``.env`` (any ``DATABASE_URL`` or ``<PREFIX>_DATABASE_URL``
  key), else the runtime's SQLite default inside its own directory;
- the services listed in ``DIR/spaps-fleet.toml`` (``[services.<name>] database-url = "..."``),
  for deployments whose environment is not on disk.

URLs are compared by backend, host, port and database name (credentials and drivers ignored,
``localhost`` = ``127.0.0.1``); SQLite URLs by the resolved file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from spaps_cli.errors import UsageError

FLEET_FILE = "spaps-fleet.toml"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./service.db"  # BaseServiceSettings' default


@dataclass(frozen=True)
class ServiceRecord:
    """A service on record and the database URL it is configured with."""

    name: str
    database_url: str
    root: Path
    source: str  # where the record came from, for the message


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file (quotes and ``export`` stripped, comments skipped)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return values
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _database_url_from_dotenv(root: Path) -> str:
    values = read_dotenv(root / ".env")
    for key, value in values.items():
        if key.upper() == "DATABASE_URL" or key.upper().endswith("_DATABASE_URL"):
            return value
    return DEFAULT_DATABASE_URL


def require_fleet(fleet: Path, *, named: str) -> Path:
    """``fleet`` if it is a directory or a fleet file; else a usage error naming where it came
    from (``named``: ``--fleet DIR`` or ``SPAPS_FLEET=DIR``). A typo there must not quietly
    turn the shared-database check off."""
    if not (fleet.is_dir() or fleet.is_file()):
        raise UsageError(
            f"{named}: no such directory or fleet file",
            hint=f"point it at the directory holding the services (or at its {FLEET_FILE})",
        )
    return fleet


def fleet_records(fleet: Path, exclude: Path) -> list[ServiceRecord]:
    """The services on record under ``fleet`` (see the module docstring), except ``exclude``."""
    records: list[ServiceRecord] = []
    fleet_file = fleet if fleet.is_file() else fleet / FLEET_FILE
    directory = fleet.parent if fleet.is_file() else fleet
    if fleet_file.is_file():
        try:
            data = tomllib.loads(fleet_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise UsageError(f"{fleet_file}: {error}", hint="fix the fleet file") from error
        for name, entry in data.get("services", {}).items():
            url = entry.get("database-url") if isinstance(entry, dict) else None
            if isinstance(url, str):
                root = (directory / str(entry.get("path", name))).resolve()
                records.append(ServiceRecord(str(name), url, root, str(fleet_file)))
    if directory.is_dir():
        for pyproject in sorted(directory.glob("*/pyproject.toml")):
            root = pyproject.parent.resolve()
            if root == exclude.resolve():
                continue
            try:
                table = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["spaps"]
            except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
                continue
            if not isinstance(table, dict) or "service" not in table:
                continue
            records.append(
                ServiceRecord(
                    str(table["service"]),
                    _database_url_from_dotenv(root),
                    root,
                    str(root / ".env"),
                )
            )
    return records


def database_identity(url: str, root: Path) -> tuple[str, ...] | None:
    """What makes two URLs the same database; ``None`` for private in-memory databases."""
    scheme, _, rest = url.partition(":")
    backend = scheme.split("+", 1)[0].lower()
    if backend == "sqlite":
        path = unquote(rest.removeprefix("///").split("?", 1)[0])
        if path in ("", ":memory:"):
            return None
        file = Path(path) if Path(path).is_absolute() else root / path
        return ("sqlite", str(file.resolve()))
    parts = urlsplit(url)
    backend = {"postgres": "postgresql"}.get(backend, backend)
    socket = parse_qs(parts.query).get("host", [""])[0]
    host = (parts.hostname or socket or "localhost").lower()
    host = "localhost" if host in {"127.0.0.1", "::1"} else host
    default_port = {"postgresql": 5432, "mysql": 3306}.get(backend)
    port = str(parts.port or default_port or "")
    name = unquote(parts.path.lstrip("/")) or (parts.username or "")
    return (backend, host, port, name)


def database_name(url: str) -> str | None:
    if url.split(":", 1)[0].split("+", 1)[0].lower() == "sqlite":
        return None
    parts = urlsplit(url)
    return unquote(parts.path.lstrip("/")) or parts.username or None


# -- what the CLI prints of a URL -----------------------------------------------------------------
# The same policy as ``spaps_server_quickstart.redaction.mask_url_password``, kept as a second
# copy on purpose: the CLI does not depend on the runtime (it reads a service's URLs without
# the service's environment, and the runtime installed next to the CLI, if any, may be another
# version than the service's), and a runtime module may never be imported at CLI start-up.
# tests/fleet/test_url_masking.py asserts the two copies mask every URL alike.

#: What replaces a password (``postgresql://app:***@db/app``), as the runtime and SQLAlchemy do.
MASKED_PASSWORD = "***"
#: Query names whose values are secrets (``redis://h/0?password=x``), matched as the runtime's
#: ``SENSITIVE_KEY_FRAGMENTS`` are: as substrings, case-insensitively, ``-`` read as ``_``.
SENSITIVE_KEY_FRAGMENTS = (
    "authorization",
    "cookie",
    "api_key",
    "apikey",
    "token",
    "password",
    "passwd",
    "secret",
    "credential",
)


def mask_url_password(url: str) -> str:
    """``url`` with its password, and any password-like query value, replaced by ``***``.

    What ``spaps smoke`` and ``spaps doctor`` print of a database or broker URL: scheme, user,
    host and database stay readable, the secret does not. Kombu's failover lists
    (``redis://a;redis://b``) are masked item by item.
    """
    if ";" in url:
        return ";".join(_mask_one_url(item) for item in url.split(";"))
    return _mask_one_url(url)


def _is_sensitive_name(name: str) -> bool:
    normalized = name.lower().replace("-", "_")
    return any(fragment in normalized for fragment in SENSITIVE_KEY_FRAGMENTS)


def _mask_one_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        password = parts.password
        query = parts.query
    except ValueError:  # an unbalanced "[" in the host: show nothing rather than guess
        return MASKED_PASSWORD if url else url
    if password is not None:
        userinfo, _, host = parts.netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        parts = parts._replace(netloc=f"{user}:{MASKED_PASSWORD}@{host}")
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_sensitive_name(name) for name, _ in pairs):
            masked = [
                (name, MASKED_PASSWORD if _is_sensitive_name(name) else value)
                for name, value in pairs
            ]
            parts = parts._replace(query=urlencode(masked, safe="*"))
    if password is None and parts.query == query:
        return url
    return urlunsplit(parts)
