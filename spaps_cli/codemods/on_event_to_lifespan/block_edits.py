"""Applying one block's planned edits (decorators removed, statements replaced, lifespans
inserted) in a single pass, with PEP 8 spacing around what is inserted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

_BLANK = cst.EmptyLine(indent=False)


@dataclass
class BlockEdits:
    remove_decorators: dict[int, set[int]] = field(default_factory=dict)
    replace_small: dict[tuple[int, int], cst.BaseSmallStatement | None] = field(
        default_factory=dict
    )
    #: statement index -> (the constructor call in that line, its replacement)
    replace_call: dict[int, tuple[cst.Call, cst.Call]] = field(default_factory=dict)
    insert_before: dict[int, list[cst.BaseStatement]] = field(default_factory=dict)
    #: statement index -> its replacement (a local factory that now takes a lifespan)
    replace_statement: dict[int, cst.BaseStatement] = field(default_factory=dict)


def apply_edits(
    statements: Sequence[cst.BaseStatement], edits: BlockEdits, at_module: bool
) -> list[cst.BaseStatement]:
    # PEP 8 spacing: two blank lines around module-level defs, one around a nested def.
    blank_before = 2 if at_module else 1
    blank_after = 2 if at_module else 1
    result: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for index, statement in enumerate(statements):
        if index in edits.insert_before:
            inserted = edits.insert_before[index]
            lines = list(getattr(statement, "leading_lines", ()))
            split = next(
                (i for i, line in enumerate(lines) if line.comment is not None), len(lines)
            )
            blanks = lines[:split]
            wanted = blank_before if at_module else min(index, 1)
            if len(blanks) < wanted:
                blanks = [_BLANK] * wanted
            first = inserted[0]
            result.append(first.with_changes(leading_lines=[*_comments(carried), *blanks]))
            carried = []
            for extra in inserted[1:]:
                spacing = [_BLANK] * blank_before if isinstance(extra, cst.FunctionDef) else []
                result.append(extra.with_changes(leading_lines=spacing or [_BLANK] * 0))
            statement = statement.with_changes(leading_lines=[_BLANK] * blank_after + lines[split:])
        if index in edits.replace_statement:
            statement = edits.replace_statement[index].with_changes(
                leading_lines=getattr(statement, "leading_lines", ())
            )
        if index in edits.replace_call:
            statement = replace_constructor(statement, *edits.replace_call[index])
        if index in edits.remove_decorators:
            assert isinstance(statement, cst.FunctionDef)
            statement = _remove_decorators(statement, edits.remove_decorators[index])
        smalls = {key[1]: value for key, value in edits.replace_small.items() if key[0] == index}
        if smalls:
            assert isinstance(statement, cst.SimpleStatementLine)
            body: list[cst.BaseSmallStatement] = []
            for position, small in enumerate(statement.body):
                if position not in smalls:
                    body.append(small)
                    continue
                replacement = smalls[position]
                if replacement is not None:
                    body.append(replacement.with_changes(semicolon=small.semicolon))
            if not body:
                carried.extend(statement.leading_lines)
                continue
            body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            statement = statement.with_changes(body=body)
        if carried:
            own = list(getattr(statement, "leading_lines", ()))
            # A removed statement's blank lines stay only where nothing else separates.
            lines = [*carried, *own] if not own else [*_comments(carried), *own]
            statement = statement.with_changes(leading_lines=lines)
            carried = []
        result.append(statement)
    if not result:
        result.append(cst.SimpleStatementLine(body=[cst.Pass()]))
    return result


def _comments(lines: Sequence[cst.EmptyLine]) -> list[cst.EmptyLine]:
    return [line for line in lines if line.comment is not None]


def replace_constructor(
    statement: cst.BaseStatement, old: cst.Call, new: cst.Call
) -> cst.BaseStatement:
    """Swap in ``new`` for the target's own call only.

    ``app = FastAPI(); router = APIRouter()`` is one statement line: every other assignment
    in it must keep its value.
    """
    assert isinstance(statement, cst.SimpleStatementLine)
    body: list[cst.BaseSmallStatement] = []
    for small in statement.body:
        if isinstance(small, cst.Assign | cst.AnnAssign) and small.value is old:
            small = small.with_changes(value=new)
        body.append(small)
    return statement.with_changes(body=body)


def _remove_decorators(node: cst.FunctionDef, removed: set[int]) -> cst.FunctionDef:
    decorators: list[cst.Decorator] = []
    carried: list[cst.EmptyLine] = []
    for decorator in node.decorators:
        if id(decorator) in removed:
            carried.extend(line for line in decorator.leading_lines if line.comment is not None)
            continue
        if carried:
            decorator = decorator.with_changes(leading_lines=[*carried, *decorator.leading_lines])
            carried = []
        decorators.append(decorator)
    return node.with_changes(
        decorators=decorators,
        lines_after_decorators=[*carried, *node.lines_after_decorators],
    )


def original_statement(
    originals: Sequence[cst.BaseStatement] | None, index: int
) -> cst.CSTNode | None:
    if originals is not None and index < len(originals):
        return originals[index]
    return None


def small_index(statement: cst.BaseStatement, small: cst.BaseSmallStatement) -> int:
    assert isinstance(statement, cst.SimpleStatementLine)
    for position, candidate in enumerate(statement.body):
        if candidate is small:
            return position
    raise LookupError("registration not found in its statement")
