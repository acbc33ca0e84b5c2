"""The libcst edit that registers a domain's router in a service's ``api/registry.py``.

A service's routers are listed in one function, ``register_routers(app)``, the way a Nest module
lists its imports; ``spaps add domain`` adds one import and one ``app.include_router(...)`` call
to it, the way ``nest generate`` edits ``@Module({imports: [...]})``. People edit that file by
hand (reorder it, add comments and their own routers, import a router another way), so the edit
first works out what the file already says instead of matching text:

* every import in the file is turned into *bindings* (local name -> dotted path), in any form:
  ``from x.router import router as y``, ``from x import router``, ``import x.router``, aliases,
  relative imports;
* the router counts as registered as soon as any expression outside an import resolves to it
  (an ``include_router`` call anywhere in the function, even inside an ``if``, or a list of
  routers the function loops over), so a second run, or a hand-made registration, never gets
  a duplicate;
* a missing include reuses whichever import already binds the router; a missing import is added
  next to the other imports of the service's package, in sorted position.

Whatever cannot be edited safely (a syntax error, no or several ``register_routers``, one
defined inside an ``if`` block, the router imported only conditionally, the alias taken by
something else) is a one-line :class:`~spaps_cli.errors.UsageError` that names the file and the
line. The edited code is compiled before it is returned, so the result is never broken code.

Importing libcst costs more than the rest of ``spaps add domain`` together, so
:func:`register_router` first asks :mod:`~spaps_cli.generators.registry_lines`, which inserts
the two lines with ``ast`` when the file cannot hide the router and its layout makes a line
edit give libcst's bytes (the generated registry, and most hand-kept ones); everything else,
errors included, goes through libcst here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from spaps_cli.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    import libcst as cst

    _LineOf = Callable[[cst.CSTNode], int]

#: The function every service's registry defines (the contract with ``templates/service``).
REGISTRY_FUNCTION = "register_routers"

#: Where that function lives in a service, relative to its root.
REGISTRY_PATH = "src/{package}/api/registry.py"


@dataclass(frozen=True)
class RouterRegistration:
    """The router a domain exports: ``<module>.<attribute>``, imported as ``alias``."""

    module: str  # billing_api.domains.users.router
    alias: str  # users_router
    attribute: str = "router"

    @property
    def target(self) -> str:
        return f"{self.module}.{self.attribute}"

    @classmethod
    def for_domain(cls, package: str, domain: str) -> RouterRegistration:
        return cls(module=f"{package}.domains.{domain}.router", alias=f"{domain}_router")


@dataclass(frozen=True)
class _Binding:
    """A name an import statement binds, and the dotted path it stands for."""

    name: str
    path: str
    unconditional: bool  # module level or the function's top level, not inside if/try/with
    line: int
    # ``import a.b.c`` binds ``a`` but makes ``a.b.c`` usable: the module that was loaded.
    loaded_module: str | None = None


@dataclass
class _Findings:
    bindings: list[_Binding] = field(default_factory=list)
    referenced: bool = False  # the router is used outside an import statement
    star_lines: list[int] = field(default_factory=list)  # ``from <router module> import *``


def register_router(
    source: str,
    registration: RouterRegistration,
    *,
    filename: str,
    registry_module: str,
    line_length: int = 88,
) -> str:
    """Return ``source`` with ``registration`` imported and included (unchanged if it already is).

    ``filename`` is only used in error messages; ``registry_module`` (``pkg.api.registry``)
    resolves relative imports; an import longer than ``line_length`` is wrapped the way ruff
    and isort wrap it, so the service's own lint stays clean.
    """
    from spaps_cli.generators.registry_lines import insert_by_lines

    by_lines = insert_by_lines(
        source,
        registration,
        function_name=REGISTRY_FUNCTION,
        registry_module=registry_module,
        line_length=line_length,
    )
    if by_lines is not None:
        _assert_compiles(by_lines, filename)
        return by_lines
    return edit_with_libcst(
        source,
        registration,
        filename=filename,
        registry_module=registry_module,
        line_length=line_length,
    )


def edit_with_libcst(
    source: str,
    registration: RouterRegistration,
    *,
    filename: str,
    registry_module: str,
    line_length: int = 88,
) -> str:
    """:func:`register_router` on libcst's tree: every layout, every import form, every error.

    Public for the tests that hold :mod:`~spaps_cli.generators.registry_lines` to its output.
    """
    from libcst.metadata import MetadataWrapper, PositionProvider

    module = _parse(source, filename)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)

    def line_of(node: cst.CSTNode) -> int:
        return positions[node].start.line

    function = _find_registry_function(module, filename, line_of)
    app_name = _app_parameter(function, filename, line_of)
    findings = _collect(module, function, registry_module, registration, line_of)

    if findings.referenced:
        return source  # registered already, by us or by hand, in whatever form
    if findings.star_lines:
        # ``include_router(router)`` may use the star's ``router``: which name is it? Adding an
        # import and an include could register the router twice, so the file must say.
        raise UsageError(
            f"{filename}:{findings.star_lines[0]}: {registration.module} is star-imported,"
            " so spaps cannot tell whether its router is already included",
            hint=f"replace the star import with 'from {registration.module} import"
            f" {registration.attribute} as {registration.alias}', then re-run",
        )

    usable = [b for b in findings.bindings if _expression_for(b, registration) is not None]
    unconditional = [b for b in usable if b.unconditional]
    if usable and not unconditional:
        where = usable[0].line
        raise UsageError(
            f"{filename}:{where}: {registration.module} is imported only inside a block"
            f" (if/try/with); spaps will not add a second import",
            hint="move the import to module level, or add app.include_router(...) by hand",
        )

    new_body: list[cst.BaseStatement] = list(module.body)
    if unconditional:
        expression = _expression_for(unconditional[0], registration)
        assert expression is not None
    else:
        _check_alias_free(findings.bindings, module, registration, filename, line_of)
        new_body = _insert_import(new_body, registration, line_length)
        expression = registration.alias

    new_function = _append_include(function, app_name, expression)
    new_body = [new_function if statement is function else statement for statement in new_body]
    edited = module.with_changes(body=new_body).code
    _assert_compiles(edited, filename)
    return edited


def _parse(source: str, filename: str) -> cst.Module:
    """Parse, reporting CPython's own message for a syntax error (clearer than the CST parser's)."""
    from spaps_cli.python_source import UnparsableSource, parse_module

    try:
        return parse_module(source, filename=filename)
    except UnparsableSource as exc:
        raise UsageError(
            exc.located(filename),
            hint="fix the file so Python can import it, then re-run",
        ) from exc


def _find_registry_function(module: cst.Module, filename: str, line_of: _LineOf) -> cst.FunctionDef:
    import libcst as cst

    top_level = [
        s
        for s in module.body
        if isinstance(s, cst.FunctionDef) and s.name.value == REGISTRY_FUNCTION
    ]
    nested = [
        node
        for statement in module.body
        if not isinstance(statement, cst.FunctionDef | cst.ClassDef)
        for node in _walk(statement)
        if isinstance(node, cst.FunctionDef) and node.name.value == REGISTRY_FUNCTION
    ]
    if nested:
        raise UsageError(
            f"{filename}:{line_of(nested[0])}: {REGISTRY_FUNCTION}() is defined inside a block"
            " (if/try/with); spaps cannot tell which definition the service uses",
            hint=f"define {REGISTRY_FUNCTION}(app) once at module level and branch inside it",
        )
    if not top_level:
        raise UsageError(
            f"{filename}: no module-level {REGISTRY_FUNCTION}(app) function to add the router to",
            hint=f"restore 'def {REGISTRY_FUNCTION}(app: FastAPI) -> None:' from the template",
        )
    if len(top_level) > 1:
        raise UsageError(
            f"{filename}:{line_of(top_level[1])}: {REGISTRY_FUNCTION}() is defined"
            f" {len(top_level)} times; only the last one would be used",
            hint="keep one definition",
        )
    return top_level[0]


def _app_parameter(function: cst.FunctionDef, filename: str, line_of: _LineOf) -> str:
    parameters = [*function.params.posonly_params, *function.params.params]
    if not parameters:
        raise UsageError(
            f"{filename}:{line_of(function)}: {REGISTRY_FUNCTION}() takes no app parameter",
            hint=f"restore 'def {REGISTRY_FUNCTION}(app: FastAPI) -> None:'",
        )
    return parameters[0].name.value


def _collect(
    module: cst.Module,
    function: cst.FunctionDef,
    registry_module: str,
    registration: RouterRegistration,
    line_of: _LineOf,
) -> _Findings:
    import libcst as cst

    findings = _Findings()
    function_top = list(function.body.body) if isinstance(function.body, cst.IndentedBlock) else []
    unconditional_lines = [*module.body, *function_top]
    for statement in module.body:
        for node in _scope_nodes(statement, function):
            if isinstance(node, cst.SimpleStatementLine):
                unconditional = any(node is line for line in unconditional_lines)
                for small in node.body:
                    if isinstance(small, cst.ImportFrom) and isinstance(
                        small.names, cst.ImportStar
                    ):
                        if _from_module(small, registry_module) == registration.module:
                            findings.star_lines.append(line_of(node))
                    elif isinstance(small, cst.Import | cst.ImportFrom):
                        findings.bindings.extend(
                            _bindings(small, registry_module, unconditional, line_of(node))
                        )
    resolvable = {b.name: b for b in findings.bindings}
    findings.referenced = any(
        _resolves_to(reference, resolvable, registration)
        for statement in module.body
        for reference in _references(statement)
    )
    return findings


def _scope_nodes(node: cst.CSTNode, function: cst.FunctionDef) -> Iterator[cst.CSTNode]:
    """Nodes whose imports bind names the registry function can see (other defs excluded)."""
    import libcst as cst

    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.FunctionDef | cst.ClassDef | cst.Lambda) and (
            current is not function
        ):
            continue
        yield current
        stack.extend(reversed(current.children))


def _references(node: cst.CSTNode) -> Iterator[cst.Name | cst.Attribute]:
    """Every name or dotted name used as a value (imports, attribute names, keywords skipped)."""
    import libcst as cst

    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Import | cst.ImportFrom):
            continue
        if isinstance(current, cst.Attribute):
            yield current
            stack.append(current.value)
            continue
        if isinstance(current, cst.Name):
            yield current
            continue
        if isinstance(current, cst.Arg):
            stack.append(current.value)
            continue
        if isinstance(current, cst.FunctionDef | cst.ClassDef):
            stack.extend(reversed([*current.decorators, current.body]))
            continue
        stack.extend(reversed(current.children))


def _bindings(
    import_: cst.Import | cst.ImportFrom, registry_module: str, unconditional: bool, line: int
) -> Iterator[_Binding]:
    import libcst as cst
    from libcst.helpers import get_full_name_for_node

    if isinstance(import_, cst.Import):
        for alias in import_.names:
            dotted = get_full_name_for_node(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                yield _Binding(alias.asname.name.value, dotted, unconditional, line)
            else:
                head = dotted.split(".")[0]
                yield _Binding(head, head, unconditional, line, loaded_module=dotted)
        return
    if isinstance(import_.names, cst.ImportStar):
        return
    base = _from_module(import_, registry_module)
    for alias in import_.names:
        name = get_full_name_for_node(alias.name) or ""
        local = (
            alias.asname.name.value
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
            else name
        )
        yield _Binding(local, f"{base}.{name}", unconditional, line)


def _from_module(import_: cst.ImportFrom, registry_module: str) -> str:
    """The absolute module a ``from ... import`` reads, relative imports resolved."""
    from libcst.helpers import get_full_name_for_node

    base = get_full_name_for_node(import_.module) if import_.module is not None else ""
    if import_.relative:
        package_parts = registry_module.split(".")[:-1]
        keep = len(package_parts) - (len(import_.relative) - 1)
        anchor = ".".join(package_parts[: max(keep, 0)])
        base = f"{anchor}.{base}" if base else anchor
    return base or ""


def _resolves_to(
    node: cst.Name | cst.Attribute,
    bindings: dict[str, _Binding],
    registration: RouterRegistration,
) -> bool:
    from libcst.helpers import get_full_name_for_node

    dotted = get_full_name_for_node(node)
    if dotted is None:
        return False
    head, _, rest = dotted.partition(".")
    binding = bindings.get(head)
    if binding is None:
        return False
    resolved = f"{binding.path}.{rest}" if rest else binding.path
    return resolved == registration.target


def _expression_for(binding: _Binding, registration: RouterRegistration) -> str | None:
    """How code in the registry can name the router through ``binding`` (None: it cannot)."""
    if binding.loaded_module is not None:
        if binding.loaded_module == registration.module:
            return registration.target
        return None
    if binding.path == registration.target:
        return binding.name
    if binding.path == registration.module:
        return f"{binding.name}.{registration.attribute}"
    return None


def _check_alias_free(
    bindings: Sequence[_Binding],
    module: cst.Module,
    registration: RouterRegistration,
    filename: str,
    line_of: _LineOf,
) -> None:
    import libcst as cst

    taken = next((b for b in bindings if b.name == registration.alias), None)
    if taken is not None:
        raise UsageError(
            f"{filename}:{taken.line}: the name {registration.alias} is already imported"
            f" from {taken.path}",
            hint=f"rename that import so {registration.module} can be imported",
        )
    for statement in module.body:
        for node in _walk(statement):
            if isinstance(node, cst.AssignTarget | cst.FunctionDef | cst.ClassDef):
                target = node.target if isinstance(node, cst.AssignTarget) else node.name
                if isinstance(target, cst.Name) and target.value == registration.alias:
                    raise UsageError(
                        f"{filename}:{line_of(node)}: the name {registration.alias} is already"
                        " defined in this file",
                        hint=f"rename it so {registration.module} can be imported",
                    )


def _insert_import(
    body: list[cst.BaseStatement], registration: RouterRegistration, line_length: int
) -> list[cst.BaseStatement]:
    """Insert the import among the module-level imports, in isort order where there is one."""
    import libcst as cst

    names = f"{registration.attribute} as {registration.alias}"
    line = f"from {registration.module} import {names}"
    if len(line) > line_length:
        # The form isort and ruff give an import that does not fit on one line.
        line = f"from {registration.module} import (\n    {names},\n)"
    new_import = cst.parse_statement(line + "\n")
    package = registration.module.split(".")[0]
    import_indexes = [i for i, s in enumerate(body) if _import_module(s) is not None]
    same_package = [
        i for i in import_indexes if (_import_module(body[i]) or "").split(".")[0] == package
    ]
    if same_package:
        after = [i for i in same_package if (_import_module(body[i]) or "") > registration.module]
        if after:
            index = after[0]
            anchor = body[index]
            assert isinstance(anchor, cst.SimpleStatementLine)
            # The comment block above the anchor now belongs above the first import of the group.
            moved = new_import.with_changes(leading_lines=anchor.leading_lines)
            return [
                *body[:index],
                moved,
                anchor.with_changes(leading_lines=()),
                *body[index + 1 :],
            ]
        index = same_package[-1] + 1
    elif import_indexes:
        index = import_indexes[-1] + 1
    else:
        # Nothing to sort against: the import opens its own block after the module's header
        # (docstring, ``from __future__`` imports), which Python requires to come first.
        index = _header_length(body)
        if index:
            new_import = new_import.with_changes(leading_lines=[cst.EmptyLine()])
    return [*body[:index], new_import, *body[index:]]


def _header_length(body: Sequence[cst.BaseStatement]) -> int:
    """How many statements open the module and must stay first: docstring, ``__future__``."""
    from spaps_cli.codemods.statements import is_docstring

    index = 1 if body and is_docstring(body[0]) else 0
    while index < len(body) and _is_future_import(body[index]):
        index += 1
    return index


def _is_future_import(statement: cst.BaseStatement) -> bool:
    import libcst as cst
    from libcst.helpers import get_full_name_for_node

    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.ImportFrom)
        and statement.body[0].module is not None
        and get_full_name_for_node(statement.body[0].module) == "__future__"
    )


def _import_module(statement: cst.BaseStatement) -> str | None:
    """The module a module-level ``import``/``from`` line imports (``__future__`` excluded)."""
    import libcst as cst
    from libcst.helpers import get_full_name_for_node

    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.ImportFrom):
        if small.relative or small.module is None:
            return "." * len(small.relative)
        name = get_full_name_for_node(small.module) or ""
        return None if name == "__future__" else name
    if isinstance(small, cst.Import):
        return get_full_name_for_node(small.names[0].name)
    return None


def _append_include(function: cst.FunctionDef, app_name: str, expression: str) -> cst.FunctionDef:
    """Add the include after the last top-level ``include_router`` call (or at the end)."""
    import libcst as cst

    from spaps_cli.codemods.statements import is_docstring

    include = cst.parse_statement(f"{app_name}.include_router({expression})\n")
    suite = function.body
    if isinstance(suite, cst.SimpleStatementSuite):
        # ``def register_routers(app): pass`` on one line: give it a real block.
        block = cst.IndentedBlock(body=[cst.SimpleStatementLine(body=suite.body)])
    else:
        assert isinstance(suite, cst.IndentedBlock)
        block = suite
    statements = list(block.body)
    placeholders = [s for s in statements if _is_placeholder(s)]
    if placeholders and len(placeholders) == len([s for s in statements if not is_docstring(s)]):
        # The body is only ``pass`` / ``...``: the include replaces it.
        keep = [s for s in statements if not _is_placeholder(s)]
        return function.with_changes(body=block.with_changes(body=[*keep, include]))
    include_indexes = [i for i, s in enumerate(statements) if _is_include_call(s, app_name)]
    if include_indexes:
        index = include_indexes[-1] + 1
    elif statements and _is_return(statements[-1]):
        index = len(statements) - 1
    else:
        index = len(statements)
    # An import inside the function binds the name only from its line on: include below it,
    # or the call raises UnboundLocalError.
    head = expression.split(".")[0]
    binding = [i for i, s in enumerate(statements) if head in _imported_names(s)]
    if binding:
        index = max(index, binding[-1] + 1)
    statements.insert(index, include)
    return function.with_changes(body=block.with_changes(body=statements))


def _imported_names(statement: cst.BaseStatement) -> set[str]:
    """The local names the import statements on this line bind."""
    import libcst as cst

    from spaps_cli.codemods.import_edits import bound_name

    found: set[str] = set()
    if not isinstance(statement, cst.SimpleStatementLine):
        return found
    for small in statement.body:
        if not isinstance(small, cst.Import | cst.ImportFrom) or isinstance(
            small.names, cst.ImportStar
        ):
            continue
        found.update(bound_name(alias) for alias in small.names)
    return found


def _is_include_call(statement: cst.BaseStatement, app_name: str) -> bool:
    """``<app>.include_router(...)`` alone on its line (isinstance checks: libcst.matchers
    costs a quarter of a second to import)."""
    import libcst as cst

    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
        return False
    func = small.value.func
    return (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.value.value == app_name
        and func.attr.value == "include_router"
    )


def _is_placeholder(statement: cst.BaseStatement) -> bool:
    import libcst as cst

    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    return isinstance(small, cst.Pass) or (
        isinstance(small, cst.Expr) and isinstance(small.value, cst.Ellipsis)
    )


def _is_return(statement: cst.BaseStatement) -> bool:
    import libcst as cst

    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Return) for small in statement.body
    )


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under ``node`` (itself included), depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _assert_compiles(source: str, filename: str) -> None:
    """Compile for real: an AST-only parse accepts a misplaced ``from __future__`` import."""
    try:
        compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:  # pragma: no cover - a bug in this module, not in the input
        raise UsageError(
            f"{filename}: the router registration produced invalid code ({exc.msg});"
            " nothing was written",
            hint="please report this with the file attached",
        ) from exc
