"""Adding imports to a module's import block in the order the service's ruff (isort) wants.

A generated service lints with ruff's isort rules at their defaults (``I`` selected, ``src =
["src", "tests"]``): sections future, standard library, third party, first party, local folder,
one blank line between them; in a section ``import x`` lines before ``from x import y`` lines,
each sorted by module; the names of a ``from`` import constants first, then classes, then the
rest. An import appended anywhere else makes the service's own ``ruff check`` fail with I001,
so each missing import is put where isort would put it, and the module's own imports, comments
and formatting are left as they are.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Sequence
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import libcst as cst


class Section(IntEnum):
    """isort's sections, in file order."""

    FUTURE = 0
    STANDARD_LIBRARY = 1
    THIRD_PARTY = 2
    FIRST_PARTY = 3
    LOCAL_FOLDER = 4


def add_imports(
    body: Sequence[cst.BaseStatement],
    wanted: Sequence[cst.ImportFrom],
    *,
    first_party: Collection[str],
) -> list[cst.BaseStatement]:
    """``body`` with each ``from`` import of ``wanted`` that it lacks added in isort position.

    ``body`` must already hold an import block (the first run of import lines); a name already
    imported from the same module is not added again, a missing name of an existing ``from
    module import ...`` line joins that line.
    """
    import libcst as cst

    statements = list(body)
    for import_ in wanted:
        module = _module_name(import_)
        names = [] if isinstance(import_.names, cst.ImportStar) else list(import_.names)
        for alias in names:
            if (module, _alias_text(alias)) in _imported(statements):
                continue
            start, end = _block(statements)
            existing = _from_line(statements[start:end], module)
            if existing is not None:
                line = statements[start + existing]
                assert isinstance(line, cst.SimpleStatementLine)
                assert isinstance(line.body[0], cst.ImportFrom)
                merged = _merge_name(line.body[0], alias)
                statements[start + existing] = line.with_changes(body=[merged])
                continue
            single = import_.with_changes(names=[alias.with_changes(comma=_no_comma())])
            statements = _insert(statements, start, end, single, first_party)
    return statements


def section_of(module: str, relative: bool, first_party: Collection[str]) -> Section:
    """The isort section of an import of ``module`` (relative imports are the local folder)."""
    if relative:
        return Section.LOCAL_FOLDER
    top = module.split(".")[0]
    if top == "__future__":
        return Section.FUTURE
    if top in first_party:
        return Section.FIRST_PARTY
    if top in sys.stdlib_module_names:
        return Section.STANDARD_LIBRARY
    return Section.THIRD_PARTY


def _insert(
    statements: list[cst.BaseStatement],
    start: int,
    end: int,
    import_: cst.ImportFrom,
    first_party: Collection[str],
) -> list[cst.BaseStatement]:
    import libcst as cst

    section = section_of(_module_name(import_), bool(import_.relative), first_party)
    key = _line_key(import_)
    new = cst.SimpleStatementLine(body=[import_])
    keyed = [(i, _statement_key(statements[i], first_party)) for i in range(start, end)]
    same = [(i, k) for i, (s, k) in keyed if s == section]
    if same:
        later = [i for i, k in same if k > key]
        if later:
            return _insert_before(statements, later[0], new, opens_section=later[0] == same[0][0])
        return [*statements[: same[-1][0] + 1], new, *statements[same[-1][0] + 1 :]]
    earlier = [i for i, (s, _) in keyed if s < section]
    if earlier:
        index = earlier[-1] + 1
        spaced = new.with_changes(leading_lines=[cst.EmptyLine()])
        return [*statements[:index], spaced, *statements[index:]]
    # The new section opens the block: it takes the block's leading blank lines.
    return _insert_before(statements, start, new, opens_section=True, new_section=True)


def _insert_before(
    statements: list[cst.BaseStatement],
    index: int,
    new: cst.SimpleStatementLine,
    *,
    opens_section: bool,
    new_section: bool = False,
) -> list[cst.BaseStatement]:
    """Put ``new`` before ``statements[index]``; comments stay above the line they describe."""
    import libcst as cst

    anchor = statements[index]
    assert isinstance(anchor, cst.SimpleStatementLine)
    leading = list(anchor.leading_lines)
    blanks = 0
    while blanks < len(leading) and leading[blanks].comment is None:
        blanks += 1
    if opens_section:
        new = new.with_changes(leading_lines=leading[:blanks])
        rest = leading[blanks:]
        anchor_lines = [cst.EmptyLine(), *rest] if new_section else rest
    else:
        anchor_lines = leading
    return [
        *statements[:index],
        new,
        anchor.with_changes(leading_lines=anchor_lines),
        *statements[index + 1 :],
    ]


def _block(statements: Sequence[cst.BaseStatement]) -> tuple[int, int]:
    """``[start, end)`` of the first run of import lines (isort sorts each run on its own)."""
    start = next(i for i, s in enumerate(statements) if _import_small(s) is not None)
    end = start
    while end < len(statements) and _import_small(statements[end]) is not None:
        end += 1
    return start, end


def _import_small(statement: cst.BaseStatement) -> cst.Import | cst.ImportFrom | None:
    import libcst as cst

    if not isinstance(statement, cst.SimpleStatementLine) or not statement.body:
        return None
    if not all(isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body):
        return None
    first = statement.body[0]
    assert isinstance(first, cst.Import | cst.ImportFrom)
    return first


def _from_line(statements: Sequence[cst.BaseStatement], module: str) -> int | None:
    """Index of a one-import ``from module import a, b`` line without star or relative dots."""
    import libcst as cst

    for index, statement in enumerate(statements):
        small = _import_small(statement)
        if (
            isinstance(small, cst.ImportFrom)
            and isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and not small.relative
            and not isinstance(small.names, cst.ImportStar)
            and _module_name(small) == module
        ):
            return index
    return None


def _merge_name(import_: cst.ImportFrom, alias: cst.ImportAlias) -> cst.ImportFrom:
    """``import_`` with ``alias`` among its names in isort order, keeping the line's commas."""
    import libcst as cst

    assert not isinstance(import_.names, cst.ImportStar)
    names = list(import_.names)
    last_comma = names[-1].comma
    separator = next(
        (n.comma for n in names[:-1] if isinstance(n.comma, cst.Comma)),
        last_comma if isinstance(last_comma, cst.Comma) else _comma(),
    )
    merged = sorted([*names, alias], key=lambda a: member_key(_alias_text(a)))
    rebuilt = [
        n.with_changes(comma=separator if i < len(merged) - 1 else last_comma)
        for i, n in enumerate(merged)
    ]
    return import_.with_changes(names=rebuilt)


def member_key(name: str) -> tuple[int, tuple[tuple[int, int | str], ...], str]:
    """isort's ``order-by-type`` key: CONSTANTS, then Classes, then everything else."""
    bare = name.split(" as ")[0]
    if len(bare) > 1 and bare.isupper():
        kind = 0
    elif bare[:1].isupper():
        kind = 1
    else:
        kind = 2
    return kind, _natural(bare), name


def _imported(statements: Sequence[cst.BaseStatement]) -> set[tuple[str, str]]:
    """``(module, name)`` of every module-level ``from module import name``."""
    import libcst as cst

    found: set[tuple[str, str]] = set()
    for statement in statements:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                prefix = "." * len(small.relative)
                found.update((prefix + _module_name(small), _alias_text(a)) for a in small.names)
    return found


def _line_key(small: cst.Import | cst.ImportFrom) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """Where a line goes in its section: ``import x`` lines first, then by module, naturally."""
    import libcst as cst

    if isinstance(small, cst.Import):
        return 0, _natural(_dotted(small.names[0].name))
    return 1, _natural("." * len(small.relative) + _module_name(small))


def _statement_key(
    statement: cst.BaseStatement, first_party: Collection[str]
) -> tuple[Section, tuple[int, tuple[tuple[int, int | str], ...]]]:
    import libcst as cst

    small = _import_small(statement)
    assert small is not None
    if isinstance(small, cst.Import):
        section = section_of(_dotted(small.names[0].name), False, first_party)
    else:
        section = section_of(_module_name(small), bool(small.relative), first_party)
    return section, _line_key(small)


def _natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """Case-insensitive natural order (``mod2`` before ``mod10``), as ruff compares modules."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part)
        for part in re.split(r"(\d+)", text.lower())
        if part
    )


def _module_name(import_: cst.ImportFrom) -> str:
    return _dotted(import_.module) if import_.module is not None else ""


def _dotted(node: cst.BaseExpression) -> str:
    from libcst.helpers import get_full_name_for_node

    return get_full_name_for_node(node) or ""


def _alias_text(alias: cst.ImportAlias) -> str:
    import libcst as cst

    name = _dotted(alias.name)
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return f"{name} as {alias.asname.name.value}"
    return name


def _comma() -> cst.Comma:
    import libcst as cst

    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


def _no_comma() -> cst.MaybeSentinel:
    import libcst as cst

    return cst.MaybeSentinel.DEFAULT
