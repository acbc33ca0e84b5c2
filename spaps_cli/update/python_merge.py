"""Resolving text conflicts in Python files that are not conflicts in the code.

Two kinds of region are resolved, each only when all three sides of the region are nothing but
that kind of statement (checked by parsing them with libcst):

* import blocks: the service's imports are kept, the template's removals are dropped (when the
  name is no longer used) and the template's additions are placed by
  :func:`spaps_cli.codemods.import_edits.add_import`, the project's one import placement;
* registrations (``app.include_router(...)`` and other ``x.y(...)`` calls at one indentation,
  the shape of the router registry ``spaps add domain`` edits): the service's calls in its
  order, minus the template's removals, plus the template's additions after them, each once.

Anything else stays a conflict. The merged module must parse, or the plain text merge is used.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from spaps_cli.update.text_merge import Conflict, Region

if TYPE_CHECKING:
    import libcst as cst


@dataclass
class _ImportWork:
    added: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)


def resolve_python(regions: list[Region], *, first_party: tuple[str, ...]) -> list[Region]:
    """``regions`` with every import or registration conflict resolved; the rest unchanged."""
    import libcst as cst

    work = _ImportWork()
    resolved: list[Region] = []
    import_regions: list[int] = []
    for region in regions:
        if isinstance(region, Conflict):
            text = _resolve_imports(region, work)
            if text is not None:
                import_regions.append(len(resolved))
            else:
                text = _resolve_calls(region)
            resolved.append(text if text is not None else region)
        else:
            resolved.append(region)
    if any(isinstance(r, Conflict) for r in resolved):
        # Imports are placed in the parsed module, which markers make unparsable: those
        # regions stay conflicts too, rather than lose the template's imports.
        for index in import_regions:
            resolved[index] = regions[index]
        return resolved
    if not (work.added or work.removed):
        return _parses(resolved, regions)
    from spaps_cli.codemods.import_edits import add_import, remove_unused_imports

    try:
        module = cst.parse_module("".join(str(r) for r in resolved))
    except cst.ParserSyntaxError:
        return regions
    for source, name, alias in work.added:
        module = add_import(module, source, name, alias=alias, first_party=first_party)
    if work.removed:
        module = remove_unused_imports(module, work.removed)
    return [module.code]


def _parses(resolved: list[Region], original: list[Region]) -> list[Region]:
    """``resolved``, unless it is not valid Python (then ``original``)."""
    import libcst as cst

    try:
        cst.parse_module("".join(str(r) for r in resolved))
    except cst.ParserSyntaxError:
        return original
    return resolved


def _statements(text: str) -> list[cst.BaseStatement] | None:
    import libcst as cst

    try:
        return list(cst.parse_module(textwrap.dedent(text)).body)
    except cst.ParserSyntaxError:
        return None


def _import_bindings(text: str) -> list[tuple[str, str | None, str | None]] | None:
    """Each ``(module, name, alias)`` the text imports, or ``None`` if it is not only imports."""
    import libcst as cst
    from libcst.helpers import get_full_name_for_node

    from spaps_cli.codemods.import_edits import module_of

    statements = _statements(text)
    if statements is None:
        return None
    bindings: list[tuple[str, str | None, str | None]] = []
    for statement in statements:
        if not isinstance(statement, cst.SimpleStatementLine):
            return None
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    bindings.append(
                        (get_full_name_for_node(alias.name) or "", None, _asname(alias))
                    )
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                source = module_of(small)
                if source is None or small.relative:
                    return None
                for alias in small.names:
                    bindings.append((source, get_full_name_for_node(alias.name), _asname(alias)))
            else:
                return None
    return bindings


def _asname(alias: cst.ImportAlias) -> str | None:
    import libcst as cst

    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


def _resolve_imports(region: Conflict, work: _ImportWork) -> str | None:
    ours = _import_bindings(region.ours)
    base = _import_bindings(region.base)
    theirs = _import_bindings(region.theirs)
    if ours is None or base is None or theirs is None:
        return None
    for binding in theirs:
        if binding not in base and binding not in ours:
            work.added.append(binding)
    for source, name, alias in base:
        if (source, name, alias) not in theirs and (source, name, alias) in ours:
            work.removed.add(alias or name or source.split(".")[0])
    return region.ours


def _call_lines(text: str) -> list[str] | None:
    """The text's lines if every statement is a bare ``x.y(...)`` call; else ``None``."""
    import libcst as cst

    statements = _statements(text)
    if statements is None:
        return None
    for statement in statements:
        if not (
            isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and isinstance(statement.body[0].value, cst.Call)
            and isinstance(statement.body[0].value.func, cst.Attribute)
        ):
            return None
    lines = text.splitlines(keepends=True)
    if len(lines) != len(statements):
        return None  # a call over several lines: leave it to the user
    return lines


def _resolve_calls(region: Conflict) -> str | None:
    ours = _call_lines(region.ours)
    base = _call_lines(region.base)
    theirs = _call_lines(region.theirs)
    if ours is None or base is None or theirs is None:
        return None
    if _touch_the_same_call(ours, base, theirs):
        return None
    stripped = {line.strip() for line in ours}
    removed = {line.strip() for line in base} - {line.strip() for line in theirs}
    kept = [line for line in ours if line.strip() not in removed]
    base_lines = {line.strip() for line in base}
    added = [
        line for line in theirs if line.strip() not in base_lines and line.strip() not in stripped
    ]
    return "".join(kept + added)


def _call_key(line: str) -> str:
    """What a registration registers: the call and its first argument (``app.include_router(x``)."""
    return line.strip().split(",")[0].split(")")[0]


def _touch_the_same_call(ours: list[str], base: list[str], theirs: list[str]) -> bool:
    """Both sides added, removed or changed a call with the same key, differently."""
    base_set = {line.strip() for line in base}

    def changes(side: list[str]) -> dict[str, set[str]]:
        side_set = {line.strip() for line in side}
        changed: dict[str, set[str]] = {}
        for line in side_set ^ base_set:
            changed.setdefault(_call_key(line), set())
        for line in side_set:
            if _call_key(line) in changed:
                changed[_call_key(line)].add(line)
        return changed

    mine, template = changes(ours), changes(theirs)
    return any(mine[key] != template[key] for key in mine.keys() & template.keys())
