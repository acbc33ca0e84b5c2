"""Planning a runtime upgrade: the pin moved to the target release, the code through its codemods.

``spaps update --runtime X`` (and the runtime half of ``--check``). The service's runtime is the
lower of what is installed (its virtualenv, else its lock file) and the floor of its pin: the code
was written for the pin's floor, and an environment may lag behind the pin. Every codemod the
registry holds for a release in ``(that, X]`` runs, release by release, through the engine of
``spaps migrate`` (:func:`spaps_cli.codemods.runner.migrate_source`: needles, one parse, the proof
rules, follow-ups with file:line), but into one :class:`~spaps_cli.plan.Plan` rather than file by
file: nothing is written until every file has been migrated, and ``--check``/``--diff``/
``--dry-run`` never apply it. The codemods only rewrite old API, so a second run finds nothing.

A template update whose new template raises the pin uses the same pieces
(:func:`plan_template_runtime`, :class:`ReleaseCodemods`) inside its merge.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from spaps_cli.errors import UsageError
from spaps_cli.fleet.compat import RUNTIME_DISTRIBUTION, CompatibilityMatrix, format_range
from spaps_cli.plan import Plan
from spaps_cli.project import Project

if TYPE_CHECKING:
    from spaps_cli.codemods.base import Finding
    from spaps_cli.codemods.runtime_upgrades import RuntimeUpgrade, UpgradeRegistry

PYPROJECT = "pyproject.toml"
#: The id follow-ups about the pin (not the code) are reported under.
PIN_ID = "runtime-pin"
_FLOOR_OPERATORS = frozenset({">=", ">", "==", "~=", "==="})
#: A requirement's name and extras, as written: what a pin bump keeps.
_REQUIREMENT_HEAD = re.compile(r"\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?")


def parse_runtime_version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise UsageError(
            f"--runtime {text!r} is not a version", hint="pass a release, e.g. --runtime 2.0.0"
        ) from None


def policy_specifier(version: Version) -> str:
    """The range the template pins for a runtime release: from its minor to the next major.

    The same policy as ``RUNTIME_REQUIREMENT`` (``>=1.0,<2`` for 1.0.0): SemVer minors add,
    majors break, so a service admits every later minor and no next major.
    """
    return f">={version.major}.{version.minor},<{version.major + 1}"


def _floor(spec: SpecifierSet) -> Version | None:
    """The lowest release ``spec`` admits, as a release is written (``>=1.0`` -> 1.0.0)."""
    floors: list[Version] = []
    for item in spec:
        if item.operator in _FLOOR_OPERATORS:
            try:
                version = Version(item.version.removesuffix(".*"))
            except InvalidVersion:
                continue
            if len(version.release) < 3 and not (version.pre or version.post or version.dev):
                version = Version(".".join(map(str, (*version.release, 0, 0)[:3])))
            floors.append(version)
    return max(floors, default=None)


@dataclass(frozen=True)
class RuntimePin:
    """One requirement string naming the runtime, where it is in ``pyproject.toml``."""

    table: tuple[
        str, ...
    ]  # ("project", "dependencies") or ("project", "optional-dependencies", "dev")
    index: int
    requirement: Requirement


def runtime_pins(document: Any) -> Iterator[RuntimePin]:
    """Every runtime requirement of the project: dependencies, extras, dependency groups."""
    project = document.get("project", {})
    arrays: list[tuple[tuple[str, ...], Any]] = [
        (("project", "dependencies"), project.get("dependencies", []))
    ]
    for name, group in project.get("optional-dependencies", {}).items():
        arrays.append((("project", "optional-dependencies", name), group))
    for name, group in document.get("dependency-groups", {}).items():
        arrays.append((("dependency-groups", name), group))
    for table, array in arrays:
        for index, raw in enumerate(array):
            if not isinstance(raw, str):
                continue
            try:
                requirement = Requirement(str(raw))
            except InvalidRequirement:
                continue
            if canonicalize_name(requirement.name) == RUNTIME_DISTRIBUTION:
                yield RuntimePin(table, index, requirement)


def with_specifier(raw: str, specifier: str) -> str | None:
    """``raw`` with its version specifier replaced, everything else as the team wrote it.

    The name's spelling, the extras and the marker's text are kept character for character
    (rebuilding the string from :class:`Requirement` would requote the marker). None for a
    direct reference (``name @ url``): there is no range to move.
    """
    requirement, semicolon, marker = raw.partition(";")
    head = _REQUIREMENT_HEAD.match(requirement)
    if head is None or "@" in requirement:
        return None
    tail = f"; {marker.strip()}" if semicolon else ""
    return f"{head.group().strip()}{specifier}{tail}"


@dataclass(frozen=True)
class RuntimeState:
    """Which runtime a service is on, as far as its files and environment tell."""

    pinned: Requirement | None
    floor: Version | None  # the lowest release the pin admits
    installed: Version | None
    installed_from: str = ""  # ".venv", "uv.lock", ...

    @property
    def code_version(self) -> Version | None:
        """What the code may still be written for: the lower of floor and installed."""
        known = [v for v in (self.floor, self.installed) if v is not None]
        return min(known, default=None)


def runtime_state(project: Project) -> RuntimeState:
    from spaps_cli.codemods.preflight import read_versions

    pins = list(runtime_pins(project.document))
    main = next((pin for pin in pins if pin.table == ("project", "dependencies")), None)
    pinned = main or (pins[0] if pins else None)
    resolved = read_versions(project.root).resolved.get(RUNTIME_DISTRIBUTION)
    installed: Version | None = None
    if resolved is not None:
        try:
            installed = Version(resolved.version)
        except InvalidVersion:
            installed = None
    return RuntimeState(
        pinned=pinned.requirement if pinned else None,
        floor=_floor(pinned.requirement.specifier) if pinned else None,
        installed=installed,
        installed_from=resolved.source if resolved is not None and installed else "",
    )


# -- the --check half ------------------------------------------------------------------------


@dataclass(frozen=True)
class RuntimeCheck:
    current: Version | None  # installed, else the newest listed release the pin admits
    recommended: Version | None
    behind: int  # listed releases in (current, recommended]
    message: str


def check_runtime(project: Project, matrix: CompatibilityMatrix) -> RuntimeCheck:
    """Is the service on the matrix's recommended runtime for its template version?

    The installed runtime decides when there is one; without an environment (a CI job that only
    checked the code out), the newest listed release the pin admits, which is what installing
    it would give.
    """
    name = project.root.name
    template = str(project.spaps.get("template-version", ""))
    recommended = matrix.recommended_runtime(template)
    state = runtime_state(project)
    current = state.installed
    if current is None and state.pinned is not None:
        admitted = [
            r.version for r in matrix.runtimes if state.pinned.specifier.contains(r.version)
        ]
        current = max(admitted, default=None) or state.floor
    if recommended is None:
        return RuntimeCheck(
            current, None, 0, f"{name}: template {template} has no recommended runtime"
        )
    if current is None:
        return RuntimeCheck(
            None,
            recommended,
            1,
            f"{name} neither pins nor has {RUNTIME_DISTRIBUTION}; the recommended runtime is"
            f" {recommended}: run 'spaps update --runtime {recommended}'",
        )
    if current >= recommended:
        return RuntimeCheck(
            current, recommended, 0, f"{name} is on runtime {current}: the recommended one"
        )
    behind = sum(1 for r in matrix.runtimes if current < r.version <= recommended) or 1
    plural = "s" if behind != 1 else ""
    where = f"in {state.installed_from}" if state.installed else "pinned"
    return RuntimeCheck(
        current,
        recommended,
        behind,
        f"{name} is on runtime {current} ({where}), the recommended one is {recommended}"
        f" ({behind} release{plural} behind); run 'spaps update --runtime {recommended}'",
    )


# -- the upgrade -----------------------------------------------------------------------------


@dataclass
class RuntimeUpdatePlan:
    project: Project
    source: Version
    target: Version
    plan: Plan
    pin_changes: list[tuple[str, str]] = field(default_factory=list)  # (old, new) requirement
    upgrades: list[str] = field(default_factory=list)  # the releases whose codemods ran
    codemods: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, why) not migrated

    @property
    def follow_ups(self) -> list[Finding]:
        return [f for f in self.findings if not f.auto_fixable and not f.acknowledged]

    @property
    def up_to_date(self) -> bool:
        """Nothing to write (follow-ups may still be listed: they stay until a person acts)."""
        return not self.plan.files


def target_runtime(project: Project, text: str, matrix: CompatibilityMatrix) -> Version:
    """``--runtime``, validated: a release the matrix lists for the service's template."""
    target = parse_runtime_version(text)
    template = str(project.spaps.get("template-version", ""))
    release = matrix.runtime(target)
    if release is None:
        known = ", ".join(str(r.version) for r in sorted(matrix.runtimes, key=lambda r: r.version))
        raise UsageError(
            f"--runtime {target} is not in the compatibility matrix (it lists {known})",
            hint="pass a listed release, or upgrade the spaps CLI (a newer one lists newer ones)",
        )
    if release.status == "unsupported":
        raise UsageError(
            f"--runtime {target} is unsupported in the compatibility matrix",
            hint="pick a supported release (docs/COMPATIBILITY.md)",
        )
    allowed = matrix.runtime_range(template)
    if allowed is None or not allowed.contains(target, prereleases=True):
        supported = format_range(allowed) if allowed is not None else "none"
        raise UsageError(
            f"--runtime {target} is outside what template {template or '(missing)'} supports"
            f" ({supported})",
            hint="update the template first ('spaps update'), then the runtime",
        )
    return target


def plan_runtime_upgrade(
    project: Project,
    runtime: str,
    *,
    matrix: CompatibilityMatrix,
    registry: UpgradeRegistry,
) -> RuntimeUpdatePlan:
    """Bump the pin and migrate the code to runtime ``runtime``, all in memory."""
    target = target_runtime(project, runtime, matrix)
    state = runtime_state(project)
    source = state.code_version
    if source is None:
        raise UsageError(
            f"{project.pyproject_path}: no {RUNTIME_DISTRIBUTION} requirement and none installed",
            hint=f'add "{RUNTIME_DISTRIBUTION}{policy_specifier(target)}" to [project] dependencies',
        )
    if state.floor is not None and target < state.floor:
        raise UsageError(
            f"--runtime {target} is older than the service's pin {state.pinned}",
            hint="spaps update only moves forward; restore an older pin from git",
        )
    update = RuntimeUpdatePlan(project, source, target, Plan(project.root))
    _plan_pin(update)
    upgrades = registry.between(source, target)
    if upgrades:
        _plan_codemods(update, upgrades)
    return update


def unmigratable(update: RuntimeUpdatePlan) -> UsageError:
    """The error for files the codemods cannot read or parse: the run stops, nothing written.

    Going on would leave the upgrade half done (the pin moved, some code still on the old API).
    """
    first, why = update.errors[0]
    return UsageError(
        f"{len(update.errors)} file(s) cannot be migrated to runtime {update.target}, nothing"
        f" was written: {first}: {why}",
        hint="fix them, or exclude them in [tool.spaps.migrate] exclude, then re-run",
        details=[f"  {path}: {reason}" for path, reason in update.errors[1:]],
    )


def pin_floor(pyproject: str) -> Version | None:
    """The floor of the runtime pin ``[project] dependencies`` (else any) has in ``pyproject``.

    None when the text does not parse (it holds conflict markers) or pins no runtime. Read
    with ``tomllib``: every template update asks, and only reading is needed.
    """
    import tomllib

    try:
        document = tomllib.loads(pyproject)
    except tomllib.TOMLDecodeError:
        return None
    pins = list(runtime_pins(document))
    main = next((pin for pin in pins if pin.table == ("project", "dependencies")), None)
    pinned = main or (pins[0] if pins else None)
    return _floor(pinned.requirement.specifier) if pinned is not None else None


def plan_template_runtime(
    project: Project,
    plan: Plan,
    *,
    registry: UpgradeRegistry,
    template_pyproject: bytes | None,
) -> tuple[RuntimeUpdatePlan, ReleaseCodemods | None] | None:
    """The runtime half of a template update whose new template raised the runtime pin's floor.

    ``plan`` holds the merged ``pyproject.toml`` (the pin the new template brought; when it
    conflicted, ``template_pyproject``, the new template's own, tells the floor). Where the code
    is: the lower of the installed runtime and the pin's floor before the run, as for
    ``--runtime``. None when the floor does not rise; else the upgrade (pin moves, the vendored
    wheel's follow-up) and the codemods of every release in ``(where the code is, new floor]``
    for the merge to run (None when no release registered any).
    """
    import tomlkit

    merged = plan.pending(PYPROJECT)
    text = (
        merged.decode("utf-8")
        if merged is not None
        else project.pyproject_path.read_text(encoding="utf-8")
    )
    target = pin_floor(text)
    if target is None and template_pyproject is not None:
        target = pin_floor(template_pyproject.decode("utf-8", errors="replace"))
    before = pin_floor(project.pyproject_path.read_text(encoding="utf-8"))
    if target is None or (before is not None and target <= before):
        # The template did not raise the floor: an environment lagging behind the pin is the
        # business of 'spaps update --runtime', not of this template's update.
        return None
    source = runtime_state(project).code_version
    if source is None or target <= source:
        return None
    update = RuntimeUpdatePlan(project, source, target, plan)
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError:
        pass  # markers in pyproject.toml: the conflict list says so; no pin to report
    else:
        update.pin_changes = _pin_moves(project.document, document)
        pins = list(runtime_pins(document))
        _report_sources(update, document, text, pins[0].requirement.specifier if pins else None)
    upgrades = registry.between(source, target)
    if not upgrades:
        return update, None
    codemods = ReleaseCodemods(project.root, upgrades)
    update.errors.extend(codemods.errors)
    update.upgrades = codemods.upgrades
    update.codemods = codemods.codemod_ids
    return update, codemods


def _pin_moves(before: Any, after: Any) -> list[tuple[str, str]]:
    """(old, new) requirement, as written, for every runtime pin whose range the merge changed."""

    def written(document: Any, pin: RuntimePin) -> str:
        array = document
        for key in pin.table:
            array = array[key]
        return str(array[pin.index])

    old = {(pin.table, frozenset(pin.requirement.extras)): pin for pin in runtime_pins(before)}
    moves: list[tuple[str, str]] = []
    for pin in runtime_pins(after):
        previous = old.get((pin.table, frozenset(pin.requirement.extras)))
        if previous is not None and previous.requirement.specifier != pin.requirement.specifier:
            moves.append((written(before, previous), written(after, pin)))
    return moves


def _plan_pin(update: RuntimeUpdatePlan) -> None:
    import tomlkit

    text = update.project.pyproject_path.read_text(encoding="utf-8")
    document = tomlkit.parse(text)
    wanted = policy_specifier(update.target)
    for pin in runtime_pins(document):
        if SpecifierSet(wanted) == pin.requirement.specifier:
            continue
        array: Any = document
        for key in pin.table:
            array = array[key]
        old = str(array[pin.index])
        new = with_specifier(old, wanted)
        if new is None:
            continue  # a direct reference: the team pins by URL, not by range
        array[pin.index] = new
        update.pin_changes.append((old, new))
    new_text = tomlkit.dumps(document)
    if new_text != text:
        update.plan.add(PYPROJECT, new_text, is_edit=True)
    _report_sources(update, document, new_text)


def _report_sources(
    update: RuntimeUpdatePlan, document: Any, text: str, pinned: SpecifierSet | None = None
) -> None:
    """A vendored runtime wheel the new pin no longer admits: the service cannot install.

    ``pinned``: the range the pin now has (default: the policy range of the target release).
    """
    from spaps_cli.codemods.base import Finding

    source = document.get("tool", {}).get("uv", {}).get("sources", {})
    entry = next(
        (v for k, v in source.items() if canonicalize_name(k) == RUNTIME_DISTRIBUTION), None
    )
    path = str(entry.get("path", "")) if isinstance(entry, Mapping) else ""
    if not path.endswith(".whl"):
        return
    parts = Path(path).name.split("-")
    try:
        wheel_version = Version(parts[1])
    except (IndexError, InvalidVersion):
        return
    admitted = pinned if pinned is not None else SpecifierSet(policy_specifier(update.target))
    if admitted.contains(wheel_version, prereleases=True):
        return
    offset = text.find(path)
    line = text.count("\n", 0, offset) + 1 if offset >= 0 else 1
    update.findings.append(
        Finding(
            PIN_ID,
            PYPROJECT,
            line,
            f"[tool.uv.sources] installs {RUNTIME_DISTRIBUTION} from {path} ({wheel_version}),"
            f" which the new pin does not admit: put the {update.target} wheel next to it, point"
            " this path at it and run 'uv lock'",
            False,
        )
    )


class ReleaseCodemods:
    """The codemods of a run's releases, ready for any file of the project, oldest release first.

    ``spaps update --runtime`` runs them over every file on disk; a template update whose new
    template raises the pin runs them over the team's side (and the old render) of each merge
    first, so the merge meets the new template in the new runtime's terms, and over the team's
    own files. The project is discovered and scanned once (``.gitignore``, ``[tool.spaps.migrate]
    exclude`` and ``acknowledge`` as ``spaps migrate`` reads them).
    """

    def __init__(self, root: Path, upgrades: Sequence[RuntimeUpgrade]) -> None:
        from spaps_cli.codemods.config import load_config
        from spaps_cli.codemods.runner import discover, scan_project

        self.config = load_config(root)
        found = discover([root], self.config.exclude, root)
        self.sources = {source.display: source for source in found.files}
        self.facts = scan_project(found.files, self.config.settings_class)
        self.errors: list[tuple[str, str]] = [(r.path, r.error or "") for r in found.errors]
        self.chain = list(upgrades)

    @property
    def upgrades(self) -> list[str]:
        return [upgrade.version for upgrade in self.chain]

    @property
    def codemod_ids(self) -> list[str]:
        return [codemod.ID for upgrade in self.chain for codemod in upgrade.codemods]

    def wants(self, display: str) -> bool:
        """A file the migrate engine would take (a Python file, not excluded, not ignored)."""
        return display in self.sources

    def migrate(self, display: str, data: bytes) -> tuple[bytes, list[Finding]]:
        """``data`` through every release's codemods; the findings carry ``data``'s lines.

        A later release's follow-ups are found in the code the earlier releases left and mapped
        back: the person reads the file as it is before the run. Raises
        :class:`~spaps_cli.codemods.runner.BadSource` for a file that cannot be parsed.
        """
        from spaps_cli.codemods.runner import acknowledged_in_config, migrate_source
        from spaps_cli.python_source import on_deep_stack

        reference = data
        findings: list[Finding] = []
        for upgrade in self.chain:
            # Release by release: a later release's needles must see the earlier one's output.
            migration = on_deep_stack(
                partial(migrate_source, data, upgrade.codemods, self.config, display, self.facts)
            )
            found = acknowledged_in_config(migration.findings, self.config.acknowledge)
            if data != reference:
                found = tuple(replace(f, line=line_before(reference, data, f.line)) for f in found)
            findings.extend(found)
            data = migration.new_source
        return data, findings


def _plan_codemods(update: RuntimeUpdatePlan, upgrades: Sequence[RuntimeUpgrade]) -> None:
    from spaps_cli.codemods.runner import BadSource

    codemods = ReleaseCodemods(update.project.root, upgrades)
    update.errors.extend(codemods.errors)
    update.upgrades = codemods.upgrades
    update.codemods = codemods.codemod_ids
    for display, source in codemods.sources.items():
        try:
            original = source.path.read_bytes()
        except OSError as exc:
            update.errors.append((display, f"cannot read: {exc.strerror or exc}"))
            continue
        try:
            data, findings = codemods.migrate(display, original)
        except BadSource as exc:
            update.errors.append((display, str(exc)))
            continue
        update.findings.extend(findings)
        if data != original:
            update.plan.add(display, data, is_edit=True)
            update.changed_files.append(display)


def line_before(before: bytes, after: bytes, line: int) -> int:
    """Line ``line`` of ``after`` as a line of ``before``, an earlier text of the same file.

    A follow-up of a later release is found in the code the earlier releases' codemods (or the
    template merge) produced; the person reads the file as it is on disk. A line those steps
    left alone maps exactly; a line they rewrote maps to the line it was rewritten from (the
    first of the lines, for a block that grew or shrank); a line they added, to the line that
    follows the insertion point.
    """
    import difflib

    old = before.splitlines()
    new = after.splitlines()
    index = line - 1
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if not j1 <= index < j2:
            continue
        if tag == "equal":
            return i1 + (index - j1) + 1
        if i2 > i1:
            return min(i1 + (index - j1), i2 - 1) + 1
        return max(1, min(i1 + 1, len(old)))
    return max(1, min(line, len(old)))
