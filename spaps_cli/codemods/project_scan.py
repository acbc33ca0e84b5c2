"""What one file cannot show: the facts a codemod needs from the rest of the project.

A codemod sees one module. Whether ``get_current_user`` (imported from ``app.auth``) validates
SPAPS sessions or decodes a local JWT, whether ``get_db`` yields an async or a sync session,
whether the app is built by the runtime's ``create_app``, and whether a test still imports a
name the codemod is about to drop: all of that lives in other files. So the runner scans the
project once, before any rewrite, and hands every codemod the same small, frozen, picklable
:class:`ProjectFacts`. The scan is cheap by design: a byte test decides whether a file is worth
parsing with :mod:`ast` at all, and most files are not.

Module names are compared by dotted suffix (``src.app.auth`` is ``app.auth``), because a file's
path does not say which directory is on ``sys.path``; a relative import is compared without its
dots. Both err towards "still imported" and "not proven", the safe answers.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: Dependency names auth-to-runtime is about (see auth_to_runtime.py for what each becomes).
USER_DEPENDENCIES = frozenset({"get_current_user", "current_user_dependency"})
ADMIN_DEPENDENCIES = frozenset(
    {
        "require_admin",
        "get_current_admin",
        "get_admin_user",
        "get_current_admin_user",
        "admin_required",
    }
)
SESSION_DEPENDENCIES = frozenset({"get_db", "get_session", "get_async_session", "get_db_session"})
RUNTIME_PACKAGE = "spaps_server_quickstart"

_FROM_IMPORT = re.compile(
    rb"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+(?:\\\n[^\n#;]*)*)",
    re.M,
)
_CREATE_APP = re.compile(rb"\bcreate_app\b")
_DEFINES_DEPENDENCY = re.compile(
    rb"def[ \t]+(?:"
    + b"|".join(name.encode() for name in sorted(USER_DEPENDENCIES | ADMIN_DEPENDENCIES))
    + b"|"
    + b"|".join(name.encode() for name in sorted(SESSION_DEPENDENCIES))
    + rb")\b"
)
#: Evidence that a dependency validates a SPAPS session: the client library, or its HTTP API.
_SPAPS_SESSIONS_TEXT = re.compile(r"/sessions/validate|validate_session|AsyncSessionsClient")


def module_name(display: str) -> str:
    """``app/auth.py`` -> ``app.auth``; ``app/__init__.py`` -> ``app``."""
    name = display.removesuffix(".pyi").removesuffix(".py").replace("\\", "/").strip("/")
    parts = [part for part in name.split("/") if part and part != "."]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def same_module(a: str, b: str) -> bool:
    """Do two dotted names (either may lack leading packages, or carry relative dots) match?"""
    a, b = a.lstrip("."), b.lstrip(".")
    if not a or not b:
        return False
    return a == b or a.endswith("." + b) or b.endswith("." + a)


@dataclass(frozen=True)
class ProjectFacts:
    """Facts about the whole project; the defaults describe a project nobody has scanned."""

    #: ``(module, name)`` for every ``from module import name`` in the project, tests included.
    imports: frozenset[tuple[str, str]] = frozenset()
    #: The app is built by the runtime's ``create_app`` (it owns DbSession and the auth service).
    app_on_create_app: bool = False
    #: ``module.function`` of auth dependencies that call spaps_client or the sessions API.
    spaps_auth: frozenset[str] = frozenset()
    #: ``module.function`` of session dependencies that yield an ``AsyncSession``.
    async_sessions: frozenset[str] = frozenset()
    #: ``module.function`` of session dependencies that yield a sync ``Session``.
    sync_sessions: frozenset[str] = frozenset()
    #: Why each scanned auth dependency is *not* proven (``module.function`` -> reason).
    auth_reasons: Mapping[str, str] = field(default_factory=dict)
    #: Why each scanned session dependency is *not* proven (``module.function`` -> reason).
    session_reasons: Mapping[str, str] = field(default_factory=dict)
    #: Session dependencies that commit when the endpoint returns, as the runtime's does.
    session_commits: frozenset[str] = frozenset()
    #: The service's settings objects (``module.settings``, ``module.get_settings``) ->
    #: ``"runtime"`` (a BaseServiceSettings already) or ``"provable"`` (a BaseSettings class
    #: settings-to-runtime can move, when it runs).
    settings_objects: Mapping[str, str] = field(default_factory=dict)
    #: The facts come from a scan (an empty import list then means "nothing imports it").
    scanned: bool = False

    def settings_state(self, qualified: str) -> str | None:
        return _reason(self.settings_objects, qualified)

    def __hash__(self) -> int:
        return hash((self.imports, self.app_on_create_app, self.spaps_auth))

    def imported_elsewhere(self, module: str, name: str) -> bool:
        """Does any module import ``name`` from ``module`` (``from module import name``)?"""
        return any(n == name and same_module(m, module) for m, n in self.imports)

    def find(self, qualified: str, names: Iterable[str]) -> bool:
        """Is ``qualified`` (``app.auth.get_current_user``, maybe relative) one of ``names``?"""
        return any(same_module(qualified, name) for name in names)

    def auth_reason(self, qualified: str) -> str | None:
        return _reason(self.auth_reasons, qualified)

    def session_reason(self, qualified: str) -> str | None:
        return _reason(self.session_reasons, qualified)


def _reason(reasons: Mapping[str, str], qualified: str) -> str | None:
    for name, reason in reasons.items():
        if same_module(qualified, name):
            return reason
    return None


def scan_sources(sources: Mapping[str, bytes], settings_class: str = "Settings") -> ProjectFacts:
    """The facts of a project given as ``display path -> bytes`` (the runner's files)."""
    imports: set[tuple[str, str]] = set()
    spaps_auth: set[str] = set()
    auth_reasons: dict[str, str] = {}
    sessions = _Sessions()
    settings_objects: dict[str, str] = {}
    app_on_create_app = False
    for display, data in sources.items():
        module = module_name(display)
        for match in _FROM_IMPORT.finditer(data):
            source = match.group(1).decode("ascii", "replace")
            if source.startswith("."):
                source = _absolute(source, module, display)
            names = match.group(2).decode("utf-8", "replace").strip("()\\ \n")
            for entry in re.split(r"[,\n\\]", names):
                parts = entry.split("#")[0].split()
                if parts:
                    imports.add((source, parts[0]))
        if (
            not app_on_create_app
            and RUNTIME_PACKAGE.encode() in data
            and _CREATE_APP.search(data) is not None
        ):
            app_on_create_app = _builds_runtime_app(data)
        if b"Settings" in data:
            settings_objects.update(_settings_objects(data, module, settings_class))
        defined = _DEFINES_DEPENDENCY.findall(data)
        if not defined:
            continue
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError):
            # Newer syntax than this Python reads (PEP 758 ``except A, B:``): say so rather
            # than call the dependency unknown.
            unreadable = (
                f"{display} does not parse with Python {sys.version_info.major}."
                f"{sys.version_info.minor}, so what it does is unknown: run spaps with the"
                " service's Python"
            )
            for match in defined:
                name = match.decode().split()[-1]
                auth_reasons.setdefault(f"{module}.{name}", unreadable)
                sessions.reasons.setdefault(f"{module}.{name}", unreadable)
            continue
        _scan_dependencies(tree, module, spaps_auth, auth_reasons, sessions)
    return ProjectFacts(
        imports=frozenset(imports),
        app_on_create_app=app_on_create_app,
        spaps_auth=frozenset(spaps_auth),
        async_sessions=frozenset(sessions.async_),
        sync_sessions=frozenset(sessions.sync),
        auth_reasons=auth_reasons,
        session_reasons=sessions.reasons,
        session_commits=frozenset(sessions.commits),
        settings_objects=settings_objects,
        scanned=True,
    )


def _settings_objects(data: bytes, module: str, settings_class: str) -> dict[str, str]:
    """Module-level settings objects of this module and whether they are on the runtime.

    ``settings = Settings()``, ``get_settings = create_settings_loader(Settings)`` and a
    getter returning ``Settings()`` count. A class is ``runtime`` when it subclasses
    ``BaseServiceSettings`` (or a runtime class of the same module), ``provable`` when it is
    the configured settings class on ``BaseSettings`` and settings-to-runtime's proof accepts
    it.
    """
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return {}
    imported = {
        alias.asname or alias.name: f"{node.module}.{alias.name}"
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }
    classes: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = [ast.unparse(base) for base in node.bases]
        sources = [imported.get(base, base) for base in bases]
        if any(
            source.startswith(RUNTIME_PACKAGE) and source.endswith("BaseServiceSettings")
            for source in sources
        ) or any(classes.get(base) == "runtime" for base in bases):
            classes[node.name] = "runtime"
        elif (
            node.name == settings_class
            and any(
                source.startswith("pydantic_settings") and source.endswith("BaseSettings")
                for source in sources
            )
            and _provable(data, node.name)
        ):
            classes[node.name] = "provable"
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            call = node.value
            called = ast.unparse(call.func)
            state = classes.get(called)
            if called.endswith("create_settings_loader") and call.args:
                state = classes.get(ast.unparse(call.args[0]))
            if state is not None:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[f"{module}.{target.id}"] = state
        elif isinstance(node, ast.FunctionDef):
            returns = [n.value for n in ast.walk(node) if isinstance(n, ast.Return)]
            for value in returns:
                if isinstance(value, ast.Call) and ast.unparse(value.func) in classes:
                    found[f"{module}.{node.name}"] = classes[ast.unparse(value.func)]
    return found


def _provable(data: bytes, class_name: str) -> bool:
    """settings-to-runtime's own proof, on this class (libcst: only for the settings module)."""
    import libcst as cst

    from spaps_cli.codemods.import_edits import imported_names
    from spaps_cli.codemods.settings_to_runtime import prove

    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError:
        return False
    imports = imported_names(module)
    for statement in module.body:
        if isinstance(statement, cst.ClassDef) and statement.name.value == class_name:
            return not prove(statement, imports).blockers
    return False


@dataclass
class _Sessions:
    async_: set[str] = field(default_factory=set)
    sync: set[str] = field(default_factory=set)
    commits: set[str] = field(default_factory=set)
    reasons: dict[str, str] = field(default_factory=dict)


def _absolute(relative: str, module: str, display: str) -> str:
    dots = len(relative) - len(relative.lstrip("."))
    package = (
        module.split(".")
        if display.endswith(("__init__.py", "__init__.pyi"))
        else (module.split(".")[:-1])
    )
    base = package[: len(package) - (dots - 1)] if dots > 1 else package
    rest = relative.lstrip(".")
    return ".".join([*base, rest] if rest else base)


def _builds_runtime_app(data: bytes) -> bool:
    """``create_app`` imported from the runtime and called somewhere in this file."""
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return False
    bound: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(RUNTIME_PACKAGE):
            bound |= {
                alias.asname or alias.name for alias in node.names if alias.name == "create_app"
            }
        elif isinstance(node, ast.Import):
            modules |= {
                alias.asname or alias.name
                for alias in node.names
                if alias.name.startswith(RUNTIME_PACKAGE)
            }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in bound:
                return True
            if isinstance(func, ast.Attribute) and func.attr == "create_app":
                root = func.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in modules:
                    return True
    return False


def _scan_dependencies(
    tree: ast.Module,
    module: str,
    spaps_auth: set[str],
    auth_reasons: dict[str, str],
    sessions: _Sessions,
) -> None:
    spaps_names = _names_from(tree, "spaps_client")
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    proven_users: set[str] = set()
    for name, node in functions.items():
        if name in USER_DEPENDENCIES:
            if _calls_spaps(node, spaps_names):
                proven_users.add(name)
                spaps_auth.add(f"{module}.{name}")
            else:
                auth_reasons[f"{module}.{name}"] = _local_auth_kind(node)
    for name, node in functions.items():
        if name in ADMIN_DEPENDENCIES:
            uses = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            checks_admin = any(
                isinstance(n, ast.Constant) and n.value == "admin" for n in ast.walk(node)
            )
            if checks_admin and (uses & proven_users or _calls_spaps(node, spaps_names)):
                spaps_auth.add(f"{module}.{name}")
            elif not checks_admin:
                auth_reasons[f"{module}.{name}"] = "does not check an 'admin' role"
            else:
                auth_reasons[f"{module}.{name}"] = (
                    "its user does not come from a dependency that validates SPAPS sessions"
                )
        elif name in SESSION_DEPENDENCIES:
            _scan_session(node, tree, f"{module}.{name}", sessions)


def _names_from(tree: ast.Module, package: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == package:
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {
                (alias.asname or alias.name).split(".")[0]
                for alias in node.names
                if alias.name.split(".")[0] == package
            }
    return names


def _calls_spaps(node: ast.AST, spaps_names: set[str]) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and child.id in spaps_names:
            return True
        if isinstance(child, ast.Attribute) and _SPAPS_SESSIONS_TEXT.search(child.attr):
            return True
        if (
            isinstance(child, ast.Constant)
            and isinstance(child.value, str)
            and _SPAPS_SESSIONS_TEXT.search(child.value)
        ):
            return True
    return False


def _local_auth_kind(node: ast.AST) -> str:
    text = ast.dump(node).lower()
    if "jwt" in text or "decode" in text:
        return "it decodes a token locally (JWT), it does not validate a SPAPS session"
    if "header" in text or "api_key" in text or "apikey" in text:
        return "it checks a header or an API key, it does not validate a SPAPS session"
    return "it does not call spaps_client or the SPAPS sessions API"


def _engine_of(node: ast.AsyncFunctionDef, tree: ast.Module) -> ast.Call | None:
    """The ``create_async_engine(...)`` call behind the session factory ``node`` uses.

    Followed through module-level assignments (``SessionLocal = async_sessionmaker(engine)``,
    ``engine = create_async_engine(url)``), a few steps deep.
    """
    assigned: dict[str, ast.expr] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = statement.value
        elif (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.value is not None
        ):
            assigned[statement.target.id] = statement.value

    def engine_in(expression: ast.expr | None, depth: int) -> ast.Call | None:
        if depth > 4 or expression is None:
            return None
        if isinstance(expression, ast.Name):
            return engine_in(assigned.get(expression.id), depth + 1)
        if not isinstance(expression, ast.Call):
            return None
        func = expression.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if called == "create_async_engine":
            return expression
        for argument in [*expression.args, *(keyword.value for keyword in expression.keywords)]:
            found = engine_in(argument, depth + 1)
            if found is not None:
                return found
        return None

    for call in ast.walk(node):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name):
            found = engine_in(call.func, 0)
            if found is not None:
                return found
    return None


def _scan_session(
    node: ast.FunctionDef | ast.AsyncFunctionDef, tree: ast.Module, qualified: str, into: _Sessions
) -> None:
    """Is this the async session of the database the runtime would open (``DATABASE_URL``)?

    A plain ``def`` hands endpoints a sync ``Session`` (``db.query(...)``), which the runtime's
    ``AsyncSession`` is not. An async one counts only when its engine is built from
    ``settings.database_url`` (the variable the runtime reads): any other source may name
    another database.
    """
    if isinstance(node, ast.FunctionDef):
        into.sync.add(qualified)
        into.reasons[qualified] = (
            "it yields a sync SQLAlchemy Session (db.query(...)) and the runtime's DbSession is"
            " an AsyncSession: port these endpoints to async SQLAlchemy first"
        )
        return
    engine = _engine_of(node, tree)
    if engine is None:
        into.reasons[qualified] = (
            "its session does not come from create_async_engine(...) in its module, so which"
            " database it opens is unknown"
        )
        return
    url = engine.args[0] if engine.args else None
    url_text = ast.unparse(url) if url is not None else "nothing"
    if (
        isinstance(url, ast.Call)
        and not url.args
        and isinstance(url.func, ast.Attribute)
        and url.func.attr == "get_secret_value"
    ):
        url = url.func.value  # a SecretUrl setting read for its value: the same URL
    if not (isinstance(url, ast.Attribute) and url.attr.lower() == "database_url"):
        into.reasons[qualified] = (
            f"its engine connects to {url_text}, the runtime's to settings.database_url"
            " (DATABASE_URL): build the engine from settings.database_url first"
        )
        return
    into.async_.add(qualified)
    if any(isinstance(call, ast.Attribute) and call.attr == "commit" for call in ast.walk(node)):
        into.commits.add(qualified)
