"""The registry edit without libcst, for the registries where it is a matter of two lines.

Importing libcst costs more than everything else ``spaps add domain`` does together (≈ 0.19 s
and 945M instructions, most of it building its ~200 node dataclasses; docs/PERFORMANCE.md),
while the registry of nearly every service is the template's: imports at module level, one
``register_routers(app)`` whose body is a list of ``app.include_router(...)`` lines, and no
trace of the new domain. There the edit is two inserted lines, at places CPython's own ``ast``
(line numbers included) is enough to find.

:func:`insert_by_lines` does exactly that, and only when the file leaves no choice:

* the new domain's package segment (``users`` in ``pkg.domains.users.router``) and the alias
  appear nowhere in the text. Every spelling that reaches the router, whatever the import
  form (aliased, dotted, relative, star, a package attribute chain), and every import or
  definition taking the alias, has to write that segment or the alias; so the router is not
  registered, not star-imported, not imported conditionally, and the alias is free, which is
  what the libcst edit would have concluded after resolving every binding;
* the layout is one where a line edit and libcst's tree edit give the same bytes: one
  statement per line at module level and in the function, the function's body an indented
  block that is not only ``pass``, the insertion points after a simple statement, LF text.

Anything else, including every error, returns ``None`` and the caller runs the libcst edit,
which handles (and reports) the general case. ``tests/domain/test_registry_edit.py`` runs both
on every case and checks that they agree wherever this one answers.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spaps_cli.generators.registry_edit import RouterRegistration

#: Statements with a body of their own: inserting after one by line would land in or after
#: comments libcst attaches to that body, so they are never an insertion point here.
_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
)


def insert_by_lines(
    source: str,
    registration: RouterRegistration,
    *,
    function_name: str,
    registry_module: str,
    line_length: int,
) -> str | None:
    """``source`` with the router imported and included, or None when libcst has to decide."""
    from spaps_cli.python_source import UnparsableSource, check_python

    parts = registration.module.split(".")
    # The domain: ``users`` in ``pkg.domains.users.router``.
    marker = parts[-2] if len(parts) > 1 else parts[0]
    if (
        marker in source
        or registration.alias in source
        or marker in registry_module.split(".")
        or "\r" in source
        or not source.endswith("\n")
    ):
        return None
    try:
        tree = check_python(source)
    except UnparsableSource:
        return None
    # Split where ``ast`` counts lines: ``str.splitlines`` also breaks at form feeds, U+2028
    # and the like, which Python allows in comments and strings without a new line number.
    lines = [f"{line}\n" for line in source.split("\n")[:-1]]
    if not _one_per_line(tree.body, lines):
        return None
    function = _registry_function(tree, function_name)
    if function is None or not _one_per_line(function.body, lines):
        return None
    parameters = [*function.args.posonlyargs, *function.args.args]
    if not parameters:
        return None
    include_after = _include_position(function, parameters[0].arg)
    import_after = _import_position(tree.body, registration.module)
    if include_after is None or import_after is None:
        return None
    if any(index and lines[index - 1].endswith("\\\n") for index in (include_after, import_after)):
        return None  # a backslash would join the inserted line to the one above

    indents = {lines[s.lineno - 1].encode()[: s.col_offset].decode() for s in function.body}
    indent = indents.pop()
    if indents or indent.strip(" \t"):
        return None  # a form feed in the indentation: libcst decides what the new line gets
    include = f"{indent}{parameters[0].arg}.include_router({registration.alias})\n"
    names = f"{registration.attribute} as {registration.alias}"
    new_import = f"from {registration.module} import {names}\n"
    if len(new_import) - 1 > line_length:
        new_import = f"from {registration.module} import (\n    {names},\n)\n"
    # The later position first, so the earlier one still points where it did. Both can be the
    # same line (the function's last statement right above an import): the include belongs to
    # the function, so it goes in last, above the import.
    if import_after >= include_after:
        lines.insert(import_after, new_import)
        lines.insert(include_after, include)
    else:
        lines.insert(include_after, include)
        lines.insert(import_after, new_import)
    return "".join(lines)


def _one_per_line(statements: list[ast.stmt], lines: list[str]) -> bool:
    """Each statement starts its own line (no ``;``, no ``def f(app): body`` one-liners)."""
    previous_end = 0
    for statement in statements:
        start = lines[statement.lineno - 1].encode()[: statement.col_offset]
        if statement.lineno <= previous_end or start.strip() != b"":
            return False
        previous_end = statement.end_lineno or statement.lineno
    return True


def _registry_function(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    """The one module-level definition, when there is one and no other in a block."""
    top_level = [
        s
        for s in tree.body
        if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef) and s.name == name
    ]
    nested = [
        node
        for statement in tree.body
        if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        for node in ast.walk(statement)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name
    ]
    if nested or len(top_level) != 1 or not isinstance(top_level[0], ast.FunctionDef):
        return None
    return top_level[0]


def _include_position(function: ast.FunctionDef, app_name: str) -> int | None:
    """The line index the include goes to: after the last top-level include, else before a
    final ``return``, else at the end (as the libcst edit places it)."""
    statements = function.body
    if any(_is_placeholder(s) for s in statements):
        return None  # the libcst edit may replace it: not a line insertion
    includes = [i for i, s in enumerate(statements) if _is_include_call(s, app_name)]
    if includes:
        index = includes[-1] + 1
    elif isinstance(statements[-1], ast.Return):
        index = len(statements) - 1
    else:
        index = len(statements)
    if index == 0 or isinstance(statements[index - 1], _COMPOUND):
        return None
    return statements[index - 1].end_lineno


def _import_position(body: list[ast.stmt], module: str) -> int | None:
    """The line index the import goes to, among the module-level imports (None: no imports)."""
    imports = [(s, name) for s in body if (name := _import_module(s)) is not None]
    if not imports:
        return None  # the libcst edit opens a new block after the module's header
    package = module.split(".")[0]
    same_package = [(s, name) for s, name in imports if name.split(".")[0] == package]
    if same_package:
        after = [s for s, name in same_package if name > module]
        if after:
            return after[0].lineno - 1
        return same_package[-1][0].end_lineno
    return imports[-1][0].end_lineno


def _import_module(statement: ast.stmt) -> str | None:
    """The module an ``import``/``from`` line imports (``__future__`` excluded)."""
    if isinstance(statement, ast.ImportFrom):
        if statement.level or statement.module is None:
            return "." * statement.level
        return None if statement.module == "__future__" else statement.module
    if isinstance(statement, ast.Import):
        return statement.names[0].name
    return None


def _is_include_call(statement: ast.stmt, app_name: str) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Attribute)
        and isinstance(statement.value.func.value, ast.Name)
        and statement.value.func.value.id == app_name
        and statement.value.func.attr == "include_router"
    )


def _is_placeholder(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Pass) or (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and statement.value.value is Ellipsis
    )
