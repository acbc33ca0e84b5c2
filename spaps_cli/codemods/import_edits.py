"""The small import-edit step that runs only on files a codemod changed.

LibCST's ``AddImportsVisitor`` costs about 150 ms per changed file and appends imports unsorted
after the last import (LibCST #1023; docs/PERFORMANCE.md); these functions edit the top-level import
block directly: merge into an existing ``from x import`` when there is one, otherwise insert a
new statement next to the imports of the same kind (standard library, third party, the first
party packages a caller names, local), and remove only imports that a codemod made unused, never
ones the service already had. ``spaps add task`` uses the same step, with the service's first
party packages and isort's order-by-type, so its edits pass the service's own ``ruff check``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Iterable, Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node

from spaps_cli.codemods.statements import dotted_node, is_docstring
from spaps_cli.codemods.traversal import Visitor

_STDLIB = frozenset(sys.stdlib_module_names)


def module_of(node: cst.ImportFrom) -> str | None:
    """The absolute module of a ``from`` import, None for relative imports."""
    if node.relative or node.module is None:
        return None
    return get_full_name_for_node(node.module)


def bound_name(alias: cst.ImportAlias) -> str:
    """The name an import alias binds (``import a.b`` binds ``a``)."""
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    full = get_full_name_for_node(alias.name) or ""
    return full.split(".")[0]


def imported_names(module: cst.Module) -> dict[str, str]:
    """Top-level bound name -> where it comes from (``fastapi.FastAPI`` or ``fastapi``)."""
    found: dict[str, str] = {}
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    full = get_full_name_for_node(alias.name) or ""
                    found[bound_name(alias)] = full if alias.asname else full.split(".")[0]
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                relative = small.module is not None and get_full_name_for_node(small.module)
                source = module_of(small) or "." * len(small.relative) + (relative or "")
                for alias in small.names:
                    original = get_full_name_for_node(alias.name) or ""
                    found[bound_name(alias)] = f"{source}.{original}"
    return found


class _NameCollector(Visitor):
    """Every identifier used outside import statements, plus string contents (``__all__``)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        # __all__ entries and string annotations keep an import alive.
        value = node.value.strip("\"'rbuRBU")
        if value.isidentifier():
            self.names.add(value)
        else:
            self.names.update(part for part in value.replace("[", " ").split() if part)


def used_names(node: cst.CSTNode) -> set[str]:
    collector = _NameCollector()
    node.visit(collector)
    return collector.names


def _code_outside_imports(module: cst.Module) -> str:
    return "".join(
        module.code_for_node(statement) for statement in module.body if not _is_import(statement)
    )


def names_in(node: cst.CSTNode, names: Iterable[str]) -> set[str]:
    """Which of ``names`` occur as words in the code of ``node`` (codegen + regex)."""
    code = cst.Module(body=[]).code_for_node(node)
    return {name for name in names if mentioned(code, name)}


def mentioned(code: str, name: str) -> bool:
    """Is ``name`` used outside the imports? Word search over the generated code.

    Generating the code is about three times cheaper than a visitor pass (docs/PERFORMANCE.md).
    A mention in a comment or string also counts, which errs on the side of keeping an import.
    """
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", code) is not None


def _is_future(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.ImportFrom)
        and module_of(statement.body[0]) == "__future__"
    )


def _is_import(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body
    )


def _top_module(statement: cst.BaseStatement) -> str:
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    if isinstance(small, cst.Import):
        return (get_full_name_for_node(small.names[0].name) or "").split(".")[0]
    if isinstance(small, cst.ImportFrom):
        if small.relative:
            return "."
        return (module_of(small) or "").split(".")[0]
    return ""


def _sort_key(
    statement: cst.BaseStatement, first_party: Collection[str] = ()
) -> tuple[int, int, str]:
    """isort/ruff order: section, then ``import x`` before ``from x import``, then module."""
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    is_from = 1 if isinstance(small, cst.ImportFrom) else 0
    if isinstance(small, cst.ImportFrom):
        full = module_of(small) or ""
    elif isinstance(small, cst.Import):
        full = get_full_name_for_node(small.names[0].name) or ""
    else:
        full = ""
    return (_section(statement, first_party), is_from, full.lower())


def _insert_position(
    body: Sequence[cst.BaseStatement],
    new: cst.SimpleStatementLine,
    first_party: Collection[str] = (),
) -> int:
    """Where a new import goes: sorted into the leading import block, else after the header."""
    index = 0
    if body and is_docstring(body[0]):
        index = 1
    while index < len(body) and _is_future(body[index]):
        index += 1
    start = index
    end = start
    while end < len(body) and _is_import(body[end]):
        end += 1
    key = _sort_key(new, first_party)
    for position in range(start, end):
        if _sort_key(body[position], first_party) > key:
            return position
    return end


def add_import(
    module: cst.Module,
    source: str,
    name: str | None = None,
    *,
    alias: str | None = None,
    first_party: Collection[str] = (),
    order_by_type: bool = False,
) -> cst.Module:
    """Ensure ``from source import name`` (or ``import source``) binds what the code uses.

    ``alias`` imports it ``as alias``, for when the module already uses the plain name for
    something else. ``first_party``: the top-level packages the project's ruff counts as first
    party (``spaps add task`` passes the service's); their imports get a section of their own
    between third party and local ones, which codemods (passing none) never create.
    ``order_by_type``: a name joining an existing ``from`` line is sorted in among its names the
    way ruff's isort defaults do (constants, classes, then the rest; see :func:`_member_key`),
    whatever the line's layout; without it, only a one-line sorted list is kept sorted.
    """
    first_party = {*first_party, *_first_party_by_layout(module.body)}
    bound = imported_names(module)
    if alias is not None:
        if bound.get(alias) == (source if name is None else f"{source}.{name}"):
            return module
    elif name is None:
        if bound.get(source.split(".")[0]) == source.split(".")[0] and "." not in source:
            return module
    elif bound.get(name) == f"{source}.{name}":
        return module
    asname = cst.AsName(name=cst.Name(alias)) if alias is not None else None
    body = list(module.body)
    if name is not None:
        for index, statement in enumerate(body):
            if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
                continue
            small = statement.body[0]
            if (
                isinstance(small, cst.ImportFrom)
                and module_of(small) == source
                and not isinstance(small.names, cst.ImportStar)
            ):
                new_alias = cst.ImportAlias(name=cst.Name(name), asname=asname)
                if order_by_type:
                    merged = _merge_by_type(small, new_alias)
                    body[index] = statement.with_changes(body=[merged])
                    return module.with_changes(body=body)
                names = list(small.names)
                existing = [get_full_name_for_node(alias.name) or "" for alias in names]
                if small.lpar is None and existing == sorted(existing):
                    # One sorted line: keep it sorted (what isort/ruff would write).
                    aliases = [*names, new_alias]
                    aliases.sort(key=lambda alias: get_full_name_for_node(alias.name) or "")
                    spaced = [
                        alias.with_changes(
                            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                        )
                        for alias in aliases[:-1]
                    ]
                    spaced.append(aliases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT))
                    body[index] = statement.with_changes(body=[small.with_changes(names=spaced)])
                    return module.with_changes(body=body)
                last = names[-1]
                if isinstance(last.comma, cst.Comma):
                    names.append(
                        cst.ImportAlias(name=cst.Name(name), asname=asname, comma=last.comma)
                    )
                    names[-2] = last.with_changes(comma=_comma_like(names))
                else:
                    names[-1] = last.with_changes(
                        comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
                    )
                    names.append(cst.ImportAlias(name=cst.Name(name), asname=asname))
                body[index] = statement.with_changes(body=[small.with_changes(names=names)])
                return module.with_changes(body=body)
    if name is None:
        new_small: cst.BaseSmallStatement = cst.Import(
            names=[cst.ImportAlias(name=dotted_node(source), asname=asname)]
        )
    else:
        new_small = cst.ImportFrom(
            module=dotted_node(source), names=[cst.ImportAlias(cst.Name(name), asname=asname)]
        )
    new_statement = cst.SimpleStatementLine(body=[new_small])
    position = _insert_position(body, new_statement, first_party)
    has_imports = any(_is_import(statement) for statement in body)
    if not has_imports and position < len(body):
        # No import block yet: the new import takes the blank lines above the first statement,
        # and one blank line separates it from that statement (its comments stay with it).
        target = body[position]
        lines = list(getattr(target, "leading_lines", ()))
        split = next((i for i, line in enumerate(lines) if line.comment is not None), len(lines))
        new_statement = new_statement.with_changes(leading_lines=lines[:split])
        body[position] = target.with_changes(leading_lines=[cst.EmptyLine(), *lines[split:]])
    else:
        previous = body[position - 1] if position > 0 else None
        joins_group = (
            previous is not None
            and _is_import(previous)
            and not _is_future(previous)
            and _section(previous, first_party) == _section(new_statement, first_party)
        )
        if position < len(body) and _is_import(body[position]) and not joins_group:
            target = body[position]
            lines = list(getattr(target, "leading_lines", ()))
            split = next(
                (i for i, line in enumerate(lines) if line.comment is not None), len(lines)
            )
            new_statement = new_statement.with_changes(leading_lines=lines[:split])
            new_section = _section(new_statement, first_party)
            separator = [cst.EmptyLine()] if _section(target, first_party) != new_section else []
            body[position] = target.with_changes(leading_lines=[*separator, *lines[split:]])
        elif not joins_group and previous is not None and _is_import(previous):
            new_statement = new_statement.with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(position, new_statement)
    return module.with_changes(body=_spaced_after_imports(body))


def _spaced_after_imports(body: Sequence[cst.BaseStatement]) -> Sequence[cst.BaseStatement]:
    """The blank lines after the leading import block, as ruff's isort rule wants them.

    Two before a ``def``/``class`` (decorated or not), one before anything else; comment lines
    belong to the statement below them. Codemods that delete a class or a group of imports
    would otherwise leave the spacing the deleted code had.
    """
    end = 0
    if body and is_docstring(body[0]):
        end = 1
    start = end
    while end < len(body) and _is_import(body[end]):
        end += 1
    if end == start or end >= len(body):
        return body
    following = body[end]
    lines = list(getattr(following, "leading_lines", ()))
    split = next((i for i, line in enumerate(lines) if line.comment is not None), len(lines))
    wanted = 2 if isinstance(following, cst.FunctionDef | cst.ClassDef) else 1
    if split == wanted:
        return body
    body = list(body)
    blank = cst.EmptyLine(indent=False)
    body[end] = following.with_changes(leading_lines=[blank] * wanted + lines[split:])
    return body


#: Packages that are third party in every service these codemods see: a group of imports that
#: contains one is the third-party section, so absolute imports grouped after it (behind a
#: blank line) are the service's own, first party, even without its ruff configuration.
KNOWN_THIRD_PARTY = frozenset(
    {
        "fastapi",
        "starlette",
        "pydantic",
        "pydantic_settings",
        "sqlalchemy",
        "celery",
        "httpx",
        "uvicorn",
        "structlog",
        "alembic",
        "spaps_server_quickstart",
    }
)


def _first_party_by_layout(body: Sequence[cst.BaseStatement]) -> set[str]:
    """Top-level packages the file's own grouping shows to be first party (see above)."""
    index = 1 if body and is_docstring(body[0]) else 0
    groups: list[set[str]] = []
    while index < len(body) and _is_import(body[index]):
        statement = body[index]
        blank = any(line.comment is None for line in getattr(statement, "leading_lines", ()))
        if not groups or blank:
            groups.append(set())
        if not _is_future(statement):
            groups[-1].add(_top_module(statement))
        index += 1
    third = next((i for i, group in enumerate(groups) if group & KNOWN_THIRD_PARTY), None)
    if third is None:
        return set()
    return {
        top
        for group in groups[third + 1 :]
        for top in group
        if top not in _STDLIB and top != "." and top not in KNOWN_THIRD_PARTY
    }


def _section(statement: cst.BaseStatement, first_party: Collection[str] = ()) -> int:
    """isort's sections after ``__future__``: standard library, third party, first party, local.

    The standard library wins over ``first_party``, as in ruff's categorizer.
    """
    top = _top_module(statement)
    if top == ".":
        return 3
    if top in _STDLIB:
        return 0
    return 2 if top in first_party else 1


def _merge_by_type(import_: cst.ImportFrom, alias: cst.ImportAlias) -> cst.ImportFrom:
    """``import_`` with ``alias`` among its names in isort order, keeping the line's commas."""
    assert not isinstance(import_.names, cst.ImportStar)
    names = list(import_.names)
    last_comma = names[-1].comma
    separator = next(
        (n.comma for n in names[:-1] if isinstance(n.comma, cst.Comma)),
        last_comma
        if isinstance(last_comma, cst.Comma)
        else cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
    )
    merged = sorted([*names, alias], key=lambda a: _member_key(_alias_text(a)))
    rebuilt = [
        n.with_changes(comma=separator if i < len(merged) - 1 else last_comma)
        for i, n in enumerate(merged)
    ]
    return import_.with_changes(names=rebuilt)


def _member_key(name: str) -> tuple[int, tuple[tuple[int, int | str], ...], str]:
    """isort's ``order-by-type`` key: CONSTANTS, then Classes, then everything else."""
    bare = name.split(" as ")[0]
    if len(bare) > 1 and bare.isupper():
        kind = 0
    elif bare[:1].isupper():
        kind = 1
    else:
        kind = 2
    return kind, _natural(bare), name


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """Case-insensitive natural order (``mod2`` before ``mod10``), as ruff compares names."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"(\d+)", text.lower())
        if part
    )


def _alias_text(alias: cst.ImportAlias) -> str:
    """``name`` or ``name as other``, what :func:`_member_key` sorts."""
    name = get_full_name_for_node(alias.name) or ""
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return f"{name} as {alias.asname.name.value}"
    return name


def _comma_like(names: Sequence[cst.ImportAlias]) -> cst.Comma:
    if len(names) >= 3 and isinstance(names[-3].comma, cst.Comma):
        return names[-3].comma
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def remove_unused_imports(module: cst.Module, candidates: Iterable[str]) -> cst.Module:
    """Drop top-level import aliases binding ``candidates`` that nothing uses any more.

    Only names a codemod stopped using are candidates, so an import the service left unused on
    purpose (a re-export, a side-effect import) is never touched.
    """
    wanted = set(candidates) & set(imported_names(module))
    if not wanted:
        return module
    code = _code_outside_imports(module)
    removable = {name for name in wanted if not mentioned(code, name)}
    if not removable:
        return module
    body: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] | None = None
    for statement in module.body:
        if carried is not None:
            own = list(getattr(statement, "leading_lines", ()))
            # The removed import's blank lines survive only where they separated something;
            # a statement that becomes the first of the file keeps only comments above it.
            if not body:
                lines = [line for line in [*carried, *own] if line.comment is not None]
            elif not own:
                lines = carried
            else:
                lines = [line for line in carried if line.comment is not None] + own
            statement = statement.with_changes(leading_lines=lines)
            carried = None
        if isinstance(statement, cst.SimpleStatementLine) and _is_import(statement):
            smalls: list[cst.BaseSmallStatement] = []
            for small in statement.body:
                kept = _without(small, removable)
                if kept is not None:
                    smalls.append(kept)
            if not smalls:
                carried = list(statement.leading_lines)
                continue
            if smalls != list(statement.body):
                last = smalls[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
                smalls[-1] = last
                statement = statement.with_changes(body=smalls)
        body.append(statement)
    return module.with_changes(body=_spaced_after_imports(body))


def _without(small: cst.BaseSmallStatement, removable: set[str]) -> cst.BaseSmallStatement | None:
    if isinstance(small, cst.Import):
        names = [alias for alias in small.names if bound_name(alias) not in removable]
    elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
        if module_of(small) == "__future__":
            return small
        names = [alias for alias in small.names if bound_name(alias) not in removable]
    else:
        return small
    if not names:
        return None
    original_names = small.names
    assert not isinstance(original_names, cst.ImportStar)
    if len(names) == len(original_names):
        return small
    original_last = original_names[-1]
    names[-1] = names[-1].with_changes(comma=original_last.comma)
    if (
        isinstance(small, cst.ImportFrom)
        and small.lpar is None
        and isinstance(names[-1].comma, cst.Comma)
    ):
        names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return small.with_changes(names=names)
