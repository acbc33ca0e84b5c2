"""Removing and replacing whole statements without losing the comments above them.

LibCST's ``RemoveFromParent`` eats the comments and blank lines attached to a removed statement
(LibCST #390); every codemod here removes statements through :func:`without_statements`, which
hands comment lines to the next statement instead. The few questions about a statement that
codemods and generators share (is it a docstring, what are a class's bases) are answered here.
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


def dotted_name(node: cst.BaseExpression | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, None for any other expression.

    Import names are always such chains, and for them libcst's ``get_full_name_for_node`` says
    the same. For an expression it does not: it reads ``make().task`` as ``make.task``,
    ``tasks[0].delay`` as ``tasks.delay`` and ``(a or b).x`` as ``None.x``, so a codemod asking
    "is this call ``celery.Celery``?" would rewrite code that only resembles it.
    """
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def dotted_node(dotted: str) -> cst.Attribute | cst.Name:
    """The expression for ``a.b.c``: what :func:`dotted_name` reads, built."""
    parts = dotted.split(".")
    node: cst.Attribute | cst.Name = cst.Name(parts[0])
    for part in parts[1:]:
        node = cst.Attribute(value=node, attr=cst.Name(part))
    return node


def class_bases(node: cst.ClassDef) -> list[str]:
    """Dotted names of a class's bases (``BaseSettings``, ``pydantic.BaseSettings``)."""
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


def is_docstring(statement: cst.BaseStatement) -> bool:
    """A lone string statement: what a module, class or function body may start with.

    Edits that insert at the top of a body (imports, ``from __future__``, a class attribute) go
    after it, so that it stays the docstring Python sees.
    """
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
