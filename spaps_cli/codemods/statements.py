"""Removing and replacing whole statements without losing the comments above them.

LibCST's ``RemoveFromParent`` eats the comments and blank lines attached to a removed statement
(LibCST #390); every codemod here removes statements through :func:`without_statements`, which
hands comment lines to the next statement instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst


def comment_lines(statement: cst.CSTNode) -> list[cst.EmptyLine]:
    lines: Sequence[cst.EmptyLine] = getattr(statement, "leading_lines", ())
    return [line for line in lines if line.comment is not None]


def without_statements(
    body: Sequence[cst.BaseStatement], drop: Callable[[cst.BaseStatement], bool]
) -> list[cst.BaseStatement]:
    """``body`` minus the statements ``drop`` selects; their comments move to the next one."""
    result: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for statement in body:
        if drop(statement):
            carried.extend(comment_lines(statement))
            continue
        if carried:
            statement = statement.with_changes(
                leading_lines=[*carried, *getattr(statement, "leading_lines", ())]
            )
            carried = []
        result.append(statement)
    return result


def replace_leading(new: cst.BaseStatement, old: cst.BaseStatement) -> cst.BaseStatement:
    """``new`` in the place of ``old``: same blank lines and comments above it."""
    return new.with_changes(leading_lines=getattr(old, "leading_lines", ()))


def class_bases(node: cst.ClassDef) -> list[str]:
    """Dotted names of a class's bases (``BaseSettings``, ``pydantic.BaseSettings``)."""
    from spaps_cli.codemods.import_edits import dotted_name

    names: list[str] = []
    for arg in node.bases:
        name = dotted_name(arg.value)
        if name is not None:
            names.append(name)
    return names


def resolve(name: str, imports: dict[str, str]) -> str:
    """``BaseSettings`` -> ``pydantic_settings.BaseSettings`` through the module's imports."""
    head, _, rest = name.partition(".")
    return imports.get(head, head) + (f".{rest}" if rest else "")


def code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
