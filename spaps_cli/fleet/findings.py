"""What a doctor check returns, what it is given, and the registry every check joins.

A doctor grows by families of checks (runtime, settings, database, migrations, codemods). Each
family is one module under :mod:`spaps_cli.fleet.checks`; each check in it is a plain function
``(DoctorContext) -> list[Finding]`` that joins the registry with :func:`check`. Adding a check
is "write one function, decorate it, add a test": :func:`registered` finds it, the report groups
its findings under its family, and ``--json`` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from spaps_cli.fleet.compat import CompatibilityMatrix
    from spaps_cli.project import Project

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    id: str
    severity: Severity
    message: str
    hint: str
    #: Whether the finding fails the check (exit 1). Errors always do; a warning does when the
    #: service has something to do (a deprecated runtime, code left to migrate), not when only
    #: this CLI is behind (a runtime release inside the pinned range it does not list yet).
    fails: bool = True

    def as_json(self) -> dict[str, str | bool]:
        return {
            "id": self.id,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
            "fails": self.fails,
        }


@dataclass
class DoctorContext:
    """Everything a check may look at; facts that cost something are computed once, on demand."""

    project: Project
    #: What :mod:`.service_probe` found in the service's interpreter (``probe_error`` if nothing).
    probe: dict[str, Any]
    fleet: Path | None = None
    matrix_override: CompatibilityMatrix | None = None
    notes: list[str] = field(default_factory=list)

    @cached_property
    def matrix(self) -> CompatibilityMatrix:
        from spaps_cli.fleet.compat import load_matrix

        return self.matrix_override or load_matrix()


Check = Callable[[DoctorContext], list[Finding]]

#: family -> its checks, in registration order (module import order, then definition order).
_REGISTRY: dict[str, list[Check]] = {}


def check(family: str) -> Callable[[Check], Check]:
    """Register the decorated function as one check of ``family``."""

    def register(function: Check) -> Check:
        _REGISTRY.setdefault(family, []).append(function)
        return function

    return register


def registered() -> dict[str, list[Check]]:
    """Every family and its checks, in the order of :data:`spaps_cli.fleet.checks.FAMILIES`."""
    from spaps_cli.fleet.checks import FAMILIES  # the import registers the checks

    order = {family: index for index, family in enumerate(FAMILIES)}
    families = sorted(_REGISTRY, key=lambda family: order.get(family, len(order)))
    return {family: list(_REGISTRY[family]) for family in families}


def run_family(family: str, context: DoctorContext) -> list[Finding]:
    return [finding for function in registered()[family] for finding in function(context)]
