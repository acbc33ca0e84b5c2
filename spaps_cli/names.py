"""The one name validator for services, domains and tasks.

Names end up as directory names, Python packages, database names, queue names and compose
project names, so a name that survives here is safe in all of them. Every problem is reported at
once (not only the first), with a caret under the first offending character, because fixing one
problem only to meet the next is what makes generators frustrating.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import dataclass
from typing import Literal

from spaps_cli.errors import InvalidNameError

NameKind = Literal["service", "domain", "task"]

#: PostgreSQL identifiers cap at 63 bytes; the name also gets prefixes/suffixes (``_test``,
#: ``-worker``), so keep a margin.
MAX_LENGTH = 40

#: The longest domain name the domain templates keep within the service's ruff line length
#: (100): docstrings and routes spell the domain once or twice per line.
MAX_DOMAIN_LENGTH = 19

#: What one generated line of a domain can spend on names when it also holds the package:
#: ``from <pkg>.domains.<domain>.schemas import <Domain>ProfileUpdate`` has the package once
#: and the domain twice (module path and class name), and ``ruff format --check`` would wrap
#: it. Measured against the templates (tests/domain/test_domain_names.py runs the service's
#: ruff on the longest names allowed), so the limit shrinks as the package name grows.
DOMAIN_LINE_BUDGET = 55

SERVICE_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SNAKE_PATTERN = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")

#: Packages of the stack a service imports; a service or domain with one of these names
#: would shadow it.
STACK_PACKAGES = frozenset(
    {
        "fastapi",
        "starlette",
        "pydantic",
        "pydantic_settings",
        "sqlalchemy",
        "alembic",
        "celery",
        "kombu",
        "redis",
        "structlog",
        "httpx",
        "uvicorn",
        "asyncpg",
        "aiosqlite",
        "pytest",
        "typer",
        "rich",
        "libcst",
        "jinja2",
        "tomlkit",
        "packaging",
        "spaps",
        "spaps_client",
        "spaps_cli",
        "spaps_server_quickstart",
        "pgvector",
        "anyio",
        "test",
        "tests",
        "app",
        "src",
        "setuptools",
        "pip",
    }
)

#: Module names a generated service already uses inside its package.
SERVICE_RESERVED = frozenset(
    {
        "api",
        "core",
        "db",
        "settings",
        "main",
        "models",
        "schemas",
        "tasks",
        "migrations",
        "domains",
        "worker",
        "health",
        "registry",
        "router",
        "service",
        "conftest",
    }
)

#: Soft keywords of every Python version we support (3.12 added ``type``), so a name that works
#: on 3.11 does not break the day the service moves to a newer interpreter.
SOFT_KEYWORDS = frozenset({"_", "case", "match", "type"})

#: Names Windows refuses as file names, with or without an extension.
WINDOWS_DEVICES = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


@dataclass(frozen=True)
class ServiceName:
    """A validated service name and the identifiers derived from it."""

    name: str  # kebab-case: billing-api
    package: str  # snake_case: billing_api

    @property
    def title(self) -> str:
        return " ".join(part.capitalize() for part in self.name.split("-"))

    @property
    def class_prefix(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-"))


@dataclass(frozen=True)
class _Problem:
    message: str
    position: int | None = None  # index of the first bad character, if one is to blame


def service_name(raw: str) -> ServiceName:
    """Validate a service name; raise :class:`InvalidNameError` listing every problem."""
    _raise_if_problems("service", raw, _problems(raw, "service", reserved=frozenset()))
    return ServiceName(name=raw, package=raw.replace("-", "_"))


def domain_name(
    raw: str,
    *,
    existing: frozenset[str] = frozenset(),
    service_package: str | None = None,
    package_modules: frozenset[str] = frozenset(),
    api_modules: frozenset[str] = frozenset(),
) -> str:
    """Validate a domain name for a service that already has ``existing`` domains.

    ``package_modules`` are the modules and subpackages the service package already has
    (``src/<pkg>/*.py`` and folders): a domain named like one of them makes imports ambiguous
    to read even where Python would resolve them. ``api_modules`` are the modules of its
    ``api`` package (``meta``): the registry imports their routers as ``<module>_router``,
    the very alias the domain's router would need.
    """
    problems = _problems(raw, "domain", reserved=SERVICE_RESERVED)
    limit = max_domain_length(service_package)
    if limit < len(raw) <= MAX_LENGTH:
        problems.append(
            _Problem(
                f"is {len(raw)} characters long; at most {limit} for a domain of"
                f" {service_package or 'a service'} (longer names make generated lines too"
                " long for ruff)",
                limit,
            )
        )
    if raw in api_modules and raw not in SERVICE_RESERVED:
        problems.append(
            _Problem(
                f"{raw!r} is a module of the service's api package (the registry already"
                f" imports {raw}_router)"
            )
        )
    if raw in existing:
        problems.append(_Problem(f"domain {raw!r} already exists in this service"))
    if service_package is not None and raw == service_package:
        problems.append(_Problem("a domain cannot have the service package's own name"))
    if raw in package_modules and raw not in SERVICE_RESERVED:
        problems.append(_Problem(f"{raw!r} is already a module of the service package"))
    _raise_if_problems("domain", raw, problems)
    return raw


def max_domain_length(service_package: str | None) -> int:
    """The longest domain name whose generated code passes the service's ruff check/format."""
    if service_package is None:
        return MAX_DOMAIN_LENGTH
    return max(1, min(MAX_DOMAIN_LENGTH, (DOMAIN_LINE_BUDGET - len(service_package)) // 2))


def task_name(
    raw: str, *, existing: frozenset[str] = frozenset(), reserved: frozenset[str] = frozenset()
) -> str:
    """Validate a Celery task function name inside a domain.

    ``reserved`` are the names the generated task code itself imports, defines or uses (the
    generator derives them from its templates): a task named ``celery_app`` would rebind the
    very name its own definition needs.
    """
    problems = _problems(raw, "task", reserved=frozenset())
    if raw in reserved:
        problems.append(
            _Problem(f"{raw!r} is a name the generated task module or its test already uses")
        )
    elif raw in existing:
        problems.append(_Problem(f"task {raw!r} already exists in this domain"))
    _raise_if_problems("task", raw, problems)
    return raw


def _problems(raw: str, kind: NameKind, *, reserved: frozenset[str]) -> list[_Problem]:
    if raw == "":
        return [_Problem(f"the {kind} name is empty")]
    problems: list[_Problem] = []
    if "/" in raw or "\\" in raw:
        index = min(i for i in (raw.find("/"), raw.find("\\")) if i >= 0)
        problems.append(_Problem("path separators are not allowed", index))
    if ".." in raw:
        problems.append(_Problem("'..' is not allowed", raw.find("..")))
    if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw):
        problems.append(_Problem("absolute paths are not allowed", 0))
    if raw[0].isdigit():
        problems.append(_Problem("must not start with a digit", 0))
    if len(raw) > MAX_LENGTH:
        problems.append(
            _Problem(
                f"is {len(raw)} characters long; at most {MAX_LENGTH} (it becomes database,"
                " queue and compose names)",
                MAX_LENGTH,
            )
        )
    pattern = SERVICE_PATTERN if kind == "service" else SNAKE_PATTERN
    if not pattern.fullmatch(raw):
        bad = _first_bad_character(raw, kind)
        blamed = {p.position for p in problems}
        if (bad is not None and bad not in blamed) or (bad is None and not problems):
            shape = (
                "kebab-case (billing-api)" if kind == "service" else "snake_case (billing_items)"
            )
            problems.append(_Problem(f"must be {shape}", bad))

    identifier = raw.replace("-", "_") if kind == "service" else raw
    lowered = identifier.lower()
    if not problems and not identifier.isidentifier():
        problems.append(_Problem(f"{identifier!r} is not a valid Python identifier"))
    if keyword.iskeyword(identifier) or identifier in SOFT_KEYWORDS:
        problems.append(_Problem(f"{identifier!r} is a Python keyword"))
    if lowered in sys.stdlib_module_names:
        problems.append(_Problem(f"{identifier!r} would shadow the standard library module"))
    if lowered in STACK_PACKAGES:
        problems.append(_Problem(f"{identifier!r} would shadow a package of the service stack"))
    if lowered in reserved:
        problems.append(_Problem(f"{identifier!r} is already used inside every service"))
    if lowered.split(".")[0] in WINDOWS_DEVICES:
        problems.append(_Problem(f"{raw!r} is a reserved device name on Windows"))
    return problems


def _first_bad_character(raw: str, kind: NameKind) -> int | None:
    allowed_separator = "-" if kind == "service" else "_"
    previous_separator = True  # a separator at the start is as bad as a doubled one
    for index, char in enumerate(raw):
        if char == allowed_separator:
            if previous_separator or index == len(raw) - 1:
                return index
            previous_separator = True
            continue
        if not (char.islower() and char.isascii()) and not char.isdigit():
            return index
        previous_separator = False
    return None


def _raise_if_problems(kind: NameKind, raw: str, problems: list[_Problem]) -> None:
    if not problems:
        return
    details: list[str] = []
    positions = [p.position for p in problems if p.position is not None]
    caret_at = min(positions) if positions else None
    if caret_at is not None:
        shown = raw if len(raw) <= 80 else raw[:77] + "..."
        details.append(f"  {shown}")
        details.append("  " + " " * min(caret_at, len(shown)) + "^")
    details.extend(f"  - {p.message}" for p in problems)
    summary = problems[0].message if len(problems) == 1 else f"{len(problems)} problems"
    shown_name = raw if len(raw) <= 40 else raw[:37] + "..."
    raise InvalidNameError(
        f"invalid {kind} name {shown_name!r}: {summary}",
        details=details,
        hint=_hint(kind),
    )


def _hint(kind: NameKind) -> str:
    if kind == "service":
        return "use lowercase kebab-case, e.g. billing-api"
    return "use lowercase snake_case, e.g. billing_items"
