"""``spaps add task NAME --domain D``: a Celery task in a domain's ``tasks.py``, and its test.

The task is built with the runtime's factory (``create_notification_task``: JSON payload,
retries with back-off on transient errors only) and attached to the service's ``celery_app``.
Nothing needs registering: the worker imports every ``domains/<name>/tasks.py`` by itself.

``tasks.py`` is edited with libcst, not by appending text blindly: the snippet's imports are
added only where missing (as one sorted block into a module that has none yet, else each where
the service's isort rules want it, see :func:`~spaps_cli.codemods.import_edits.add_import`), and
a task that is already there exactly as generated makes the edit a no-op, so re-running reports
``identical``. A task of that name written differently is a name clash, never overwritten.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spaps_cli import names
from spaps_cli.errors import UsageError
from spaps_cli.generators.domain import GeneratorResult, apply_and_report
from spaps_cli.generators.source_text import SourceText, read_source
from spaps_cli.plan import ConflictPolicy, Plan
from spaps_cli.project import Project, find_project

if TYPE_CHECKING:
    import libcst as cst

_DOMAIN_SHAPE = re.compile(r"^[a-z][a-z0-9_]*$")

TASKS_MODULE_HEADER = '''"""Celery tasks of the {domain} domain; the worker imports this module by itself."""

from __future__ import annotations
'''


def generate_task(
    raw_name: str,
    *,
    domain: str,
    start: Path,
    policy: ConflictPolicy = ConflictPolicy.ERROR,
    dry_run: bool = False,
    diffs: bool = True,
) -> GeneratorResult:
    """Plan the task, print the plan, and write it unless ``dry_run``."""
    project = find_project(start, what="--dir")
    plan, name = plan_task(project, raw_name, domain=domain)
    result = GeneratorResult(
        command="add task",
        subject={"task": name, "domain": domain, "service": _service(project)},
        root=plan.root,
        dry_run=dry_run,
    )
    result.rows = apply_and_report(plan, policy, dry_run=dry_run, diffs=diffs)
    return result


def plan_task(project: Project, raw_name: str, *, domain: str) -> tuple[Plan, str]:
    """The in-memory plan: the edited ``tasks.py`` and the rendered test file."""
    from spaps_cli.generators.render import create_environment, render_tree
    from spaps_cli.generators.templates_location import template_tree

    names.task_name(raw_name)  # the shape first: the name is rendered into Python below
    domain_dir = _domain_dir(project, domain)
    if not (project.package_dir / "worker.py").is_file():
        raise UsageError(
            f"{project.package_dir.relative_to(project.root)}/worker.py is missing: this service"
            " has no Celery worker",
            hint="generate the service with --celery (the default) to use tasks",
        )
    names.task_name(raw_name, reserved=template_names(task_context(project, domain, "")))
    tasks_path = domain_dir / "tasks.py"
    relative = tasks_path.relative_to(project.root).as_posix()
    if os.path.lexists(tasks_path):  # a dangling link or a loop is an error, not "missing"
        source = read_source(tasks_path, display=relative, within=project.root)
    else:
        source = SourceText.parse(TASKS_MODULE_HEADER.format(domain=domain))

    context = task_context(project, domain, raw_name)
    snippet_tree = template_tree("task")
    snippet = create_environment(snippet_tree).get_template("snippet/task.py.jinja").render(context)
    edited, name = add_task(
        source.text, snippet, raw_name, filename=relative, first_party=first_party(project)
    )

    plan = Plan(project.root)
    plan.add(relative, source.restore(edited), is_edit=True)
    render_tree(template_tree("task/files"), context, plan)
    return plan, name


def first_party(project: Project) -> frozenset[str]:
    """What the service's ruff counts as first party, so an added import lands in its section.

    The package, and whatever ``src = ["src", "tests"]`` (the generated ``[tool.ruff]``) finds
    in those directories.
    """
    found = {project.package}
    for directory in ("src", "tests"):
        root = project.root / directory
        if root.is_dir():
            found.update(
                entry.name.removesuffix(".py")
                for entry in root.iterdir()
                if entry.is_dir() or entry.suffix == ".py"
            )
    return frozenset(found)


def task_context(project: Project, domain: str, task: str) -> dict[str, Any]:
    service = _service(project)
    return {
        "service": service,
        "package": project.package,
        "domain": domain,
        "task": task,
        "task_name": f"{service}.{domain}.{task}",
    }


#: Rendered in place of the task name to tell the names a template derives from the task
#: (``_NAME``, ``test_NAME_runs_on_the_worker``) from the fixed ones it binds or uses.
_PLACEHOLDER = "spaps_placeholder_task"


def template_names(context: Mapping[str, Any]) -> frozenset[str]:
    """Every identifier the task templates (snippet and test) bind or use, whatever the task.

    A task named like one of them would rebind it (``celery_app``, ``create_notification_task``)
    or shadow it inside the generated code (``expected``, ``result``, ``dict``), so the name is
    refused. Read from the templates themselves, so a template change needs no list to follow.
    """
    import ast

    from spaps_cli.generators.render import create_environment, template_sources
    from spaps_cli.generators.templates_location import template_tree

    tree = template_tree("task")
    environment = create_environment(tree)
    found: set[str] = set()
    for source in template_sources(tree):
        if not source.name.endswith(".py.jinja"):
            continue
        rendered = environment.get_template(source.as_posix()).render(
            {**context, "task": _PLACEHOLDER, "task_name": _PLACEHOLDER}
        )
        for node in ast.walk(ast.parse(rendered)):
            if isinstance(node, ast.Name):
                found.add(node.id)
            elif isinstance(node, ast.alias):
                found.add(node.asname or node.name.split(".")[0])
            elif isinstance(node, ast.arg):
                found.add(node.arg)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.add(node.name)
    return frozenset(name for name in found if _PLACEHOLDER not in name)


def add_task(
    source: str,
    snippet: str,
    raw_name: str,
    *,
    filename: str,
    first_party: Collection[str] = (),
) -> tuple[str, str]:
    """``source`` with the snippet's task appended and its imports ensured; validates the name.

    ``first_party``: the top-level names ruff counts as first party in the service (its
    package), which decides the isort section an added import goes to.
    """
    import libcst as cst

    module = _parse(source, filename)
    snippet_module = cst.parse_module(snippet)
    imports = [s for s in snippet_module.body if _is_import_line(s)]
    definitions = [s for s in snippet_module.body if not _is_import_line(s)]

    defined = _top_level_names(module)
    if raw_name in defined or f"_{raw_name}" in defined:
        if _already_added(module, definitions):
            return source, names.task_name(raw_name)
        if raw_name in defined:
            names.task_name(raw_name, existing=frozenset({raw_name}))  # raises: another task
        raise UsageError(
            f"{filename}: the name _{raw_name} is already used",
            hint=f"rename it, or pick another task name than {raw_name}",
        )
    name = names.task_name(raw_name, existing=frozenset(defined))

    module = _ensure_imports(module, imports, first_party)
    body: list[cst.BaseStatement] = [*module.body]
    first, *rest = definitions
    blank = cst.EmptyLine()
    body.append(first.with_changes(leading_lines=[blank, blank]))
    body.extend(rest)
    edited = module.with_changes(body=body).code
    try:
        compile(edited, filename, "exec", flags=0x400, dont_inherit=True)
    except SyntaxError as exc:  # pragma: no cover - a bug here, not in the input
        raise UsageError(f"{filename}: adding the task produced invalid code ({exc.msg})") from exc
    return edited, name


def _parse(source: str, filename: str) -> cst.Module:
    from spaps_cli.python_source import UnparsableSource, parse_module

    try:
        return parse_module(source, filename=filename)
    except UnparsableSource as exc:
        raise UsageError(
            exc.located(filename),
            hint="fix the file so Python can import it, then re-run",
        ) from exc


def _is_import_line(statement: cst.BaseStatement) -> bool:
    import libcst as cst

    return isinstance(statement, cst.SimpleStatementLine) and all(
        isinstance(small, cst.Import | cst.ImportFrom) for small in statement.body
    )


def _top_level_names(module: cst.Module) -> set[str]:
    """Names bound at module level: defs, classes, assignments and imports."""
    import libcst as cst

    from spaps_cli.codemods.import_edits import bound_name

    found: set[str] = set()
    for statement in module.body:
        if isinstance(statement, cst.FunctionDef | cst.ClassDef):
            found.add(statement.name.value)
            continue
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name):
                        found.add(target.target.value)
            elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                found.add(small.target.value)
            elif isinstance(small, cst.Import | cst.ImportFrom) and not isinstance(
                small.names, cst.ImportStar
            ):
                found.update(bound_name(alias) for alias in small.names)
    return found


def _already_added(module: cst.Module, definitions: Sequence[cst.BaseStatement]) -> bool:
    """Every statement of the snippet is in the module, unchanged (comments aside)."""
    return all(
        any(existing.deep_equals(wanted) for existing in _without_comments(module.body))
        for wanted in _without_comments(definitions)
    )


def _without_comments(statements: Any) -> list[cst.BaseStatement]:
    return [statement.with_changes(leading_lines=()) for statement in statements]


def _ensure_imports(
    module: cst.Module, imports: Sequence[cst.BaseStatement], first_party: Collection[str]
) -> cst.Module:
    """Add the snippet's imports that ``module`` lacks.

    A module with no imports but ``__future__`` (a fresh ``tasks.py``) gets the snippet's block
    as written, already in isort order; otherwise each missing import goes where the service's
    ruff (isort, ``first_party`` being the service's own packages) wants it, so the edited file
    still passes the service's ``ruff check``.
    """
    import libcst as cst
    from libcst.helpers import get_full_name_for_node

    from spaps_cli.codemods.import_edits import add_import, bound_name, module_of
    from spaps_cli.codemods.statements import is_docstring

    existing_imports = [
        s
        for s in module.body
        if _is_import_line(s)
        and not (
            isinstance(s, cst.SimpleStatementLine)
            and isinstance(s.body[0], cst.ImportFrom)
            and module_of(s.body[0]) == "__future__"
        )
    ]
    if not existing_imports:
        index = 0
        for position, statement in enumerate(module.body):
            if (position == 0 and is_docstring(statement)) or _is_import_line(statement):
                index = position + 1
        block: list[cst.BaseStatement] = [
            imports[0].with_changes(leading_lines=[cst.EmptyLine()] if index else []),
            *imports[1:],
        ]
        return module.with_changes(body=[*module.body[:index], *block, *module.body[index:]])

    wanted: list[tuple[str, str | None, cst.ImportAlias]]  # (module, name, alias) to ensure
    for line in imports:
        assert isinstance(line, cst.SimpleStatementLine)
        for small in line.body:
            if isinstance(small, cst.Import):
                wanted = [
                    (get_full_name_for_node(alias.name) or "", None, alias) for alias in small.names
                ]
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                assert not small.relative, "the task snippet imports absolutely"
                source = module_of(small) or ""
                wanted = [
                    (source, get_full_name_for_node(alias.name), alias) for alias in small.names
                ]
            else:
                continue
            for source, name, alias in wanted:
                module = add_import(
                    module,
                    source,
                    name,
                    alias=bound_name(alias) if alias.asname is not None else None,
                    first_party=first_party,
                    order_by_type=True,
                )
    return module


def _domain_dir(project: Project, domain: str) -> Path:
    domain_dir = project.package_dir / "domains" / domain
    if not _DOMAIN_SHAPE.fullmatch(domain) or not (domain_dir / "__init__.py").is_file():
        known = ", ".join(project.domains) or "none yet"
        raise UsageError(
            f"no domain {domain!r} in this service (domains: {known})",
            hint=f"spaps add domain {domain} first" if _DOMAIN_SHAPE.fullmatch(domain) else None,
        )
    return domain_dir


def _service(project: Project) -> str:
    return str(project.spaps.get("service", project.package))
