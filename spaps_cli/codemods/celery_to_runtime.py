"""celery-to-runtime: a local ``Celery(...)`` construction → ``create_celery_app(settings, ...)``.

``create_celery_app`` reads ``celery_broker_url``, ``celery_result_backend`` and
``service_name`` from a ``BaseServiceSettings``. So the construction is rewritten only when the
object it passes is proven to be one: the broker and backend are read from the service's
settings object (``settings.celery_broker_url``, ``get_settings().celery_result_backend``), and
the project scan shows that object is an instance or loader of a ``BaseServiceSettings``
subclass, or of the settings class settings-to-runtime moves in the same run (prerequisite
``settings-on-runtime``). A project's own config object (``CELERY_BROKER_URL`` attributes, no
``service_name``) is a follow-up.

The runtime's factory sets the reliability options the fleet agreed on (late acks, prefetch 1,
JSON only, time limits below the visibility timeout, request-id propagation;
docs/RUNTIME.md, Celery) from ``CELERY_*`` settings. The construction is rewritten
when the broker/backend come from a settings object the factory can take; the service's own
``conf.update``/``config_from_object`` lines are kept and reported, because they may now
override the runtime's choices. The app's name is passed on as ``name=``. ``as_default=True``
stands in for ``Celery(...)``'s own default, ``set_as_current=True`` (the app ``@shared_task``
tasks and ``celery.current_app`` resolve to), for every thread rather than the constructing one
only; a construction that passed ``set_as_current=False`` opted out, and keeps opting out.
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst

from spaps_cli.codemods.base import Codemod, Example
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.import_edits import (
    add_import,
    imported_names,
    remove_unused_imports,
)
from spaps_cli.codemods.project_scan import ProjectFacts
from spaps_cli.codemods.statements import code, dotted_name, resolve

RUNTIME_TASKS = "spaps_server_quickstart.tasks"
CELERY_CLASSES = frozenset({"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"})
SETTING_FOR = {"broker": "celery_broker_url", "backend": "celery_result_backend"}
MOVABLE = frozenset({"broker", "backend", "include", "main", "set_as_current"})


def _settings_root(expression: cst.BaseExpression) -> tuple[cst.BaseExpression, str] | None:
    """``settings`` and ``redis_url`` for ``settings.redis_url`` (or ``get_settings().x``).

    ``settings.celery_broker_url.get_secret_value()`` counts as the setting itself: URL
    settings are ``SecretUrl`` on the runtime, and that is how code reads their value.
    """
    if (
        isinstance(expression, cst.Call)
        and not expression.args
        and isinstance(expression.func, cst.Attribute)
        and expression.func.attr.value == "get_secret_value"
    ):
        expression = expression.func.value
    if not isinstance(expression, cst.Attribute):
        return None
    value = expression.value
    if isinstance(value, cst.Name) or (
        isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and not value.args
    ):
        return value, expression.attr.value
    return None


def _keyword_arg(keyword: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        value,
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""),
            whitespace_after=cst.SimpleWhitespace(""),
        ),
    )


class CeleryToRuntime(Codemod):
    ID: ClassVar[str] = "celery-to-runtime"
    PREFLIGHT: ClassVar[str | None] = "runtime"
    SUMMARY: ClassVar[str] = (
        "Build the Celery app with create_celery_app(settings, task_modules=...)."
    )
    NEEDLES: ClassVar[tuple[bytes, ...]] = (b"Celery(",)
    REQUIRES: ClassVar[tuple[str, ...]] = ("settings-on-runtime",)
    EXAMPLE_FACTS: ClassVar[ProjectFacts] = ProjectFacts(
        settings_objects={"app.config.settings": "runtime", "app.config.get_settings": "runtime"}
    )
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            "broker and backend from settings",
            before="""\
from celery import Celery

from app.config import settings

celery_app = Celery(
    "orders",
    broker=settings.celery_broker_url,
    backend=settings.celery_result_backend,
    include=["app.tasks.email"],
)
""",
            after="""\
from spaps_server_quickstart.tasks import create_celery_app

from app.config import settings

celery_app = create_celery_app(settings, name="orders", task_modules=["app.tasks.email"], as_default=True)
""",
        ),
        Example(
            "an app that was not the current one stays that way",
            before="""\
from celery import Celery

from app.config import settings

celery_app = Celery("orders", broker=settings.celery_broker_url, set_as_current=False)
""",
            after="""\
from spaps_server_quickstart.tasks import create_celery_app

from app.config import settings

celery_app = create_celery_app(settings, name="orders")
""",
        ),
    )

    def __init__(self, config: MigrateConfig, facts: ProjectFacts | None = None) -> None:
        super().__init__(config, facts)
        self._imports: dict[str, str] = {}
        self._apps: set[str] = set()
        self._removed: set[str] = set()

    def visit_Module(self, node: cst.Module) -> bool:
        self._imports = imported_names(node)
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def leave_Assign(self, original_node: cst.Assign, updated_node: cst.Assign) -> cst.Assign:
        call = updated_node.value
        if not isinstance(call, cst.Call):
            return updated_node
        name = dotted_name(call.func)
        if name is None or resolve(name, self._imports) not in CELERY_CLASSES:
            return updated_node
        keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
        positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
        others = sorted(set(keywords) - MOVABLE)
        if (
            others
            or any(arg.star for arg in call.args)
            or len(positional) > 1
            or (positional and "main" in keywords)
        ):
            self.follow_up(
                original_node,
                "Celery(...) has options the runtime sets itself"
                f" ({', '.join(others) or 'positional/star arguments'}): build it with"
                " create_celery_app(settings, task_modules=[...]) and keep only what differs",
            )
            return updated_node
        roots = {
            key: _settings_root(keywords[key]) for key in ("broker", "backend") if key in keywords
        }
        if not roots or any(root is None for root in roots.values()):
            self.follow_up(
                original_node,
                "the broker/backend do not come from a settings object: create_celery_app reads"
                " CELERY_BROKER_URL / CELERY_RESULT_BACKEND from the service settings; migrate"
                " by hand",
            )
            return updated_node
        settings_codes = {code(root[0]) for root in roots.values() if root is not None}
        if len(settings_codes) != 1:
            self.follow_up(original_node, "broker and backend come from different objects")
            return updated_node
        settings_expression = next(root[0] for root in roots.values() if root is not None)
        for key, root in roots.items():
            assert root is not None
            if root[1] != SETTING_FOR[key]:
                self.follow_up(
                    original_node,
                    f"Celery(...) kept: {key} comes from {code(settings_expression)}.{root[1]},"
                    f" and create_celery_app reads .{SETTING_FOR[key]} of a BaseServiceSettings:"
                    " move the value into that field (same variable"
                    f" {SETTING_FOR[key].upper()}), then re-run",
                )
                return updated_node
        owner = self._settings_owner(settings_expression)
        if self.facts.settings_state(owner) is None:
            self.follow_up(
                original_node,
                f"Celery(...) kept: {code(settings_expression)} is not shown to be the service's"
                f" settings ({self.config.settings_class} on BaseServiceSettings), and"
                " create_celery_app reads celery_broker_url, celery_result_backend and"
                " service_name from one: pass the service's settings by hand",
            )
            return updated_node
        if "backend" not in keywords:
            self.follow_up(
                original_node,
                "create_celery_app also sets a result backend (CELERY_RESULT_BACKEND, SQLite"
                " by default) where this app had none: results are now stored; set"
                " CELERY_RESULT_BACKEND or check that nothing relies on their absence",
            )
        args = [cst.Arg(settings_expression)]
        # The app's name (``Celery("orders")``) names its tasks and workers: keep it.
        main = positional[0].value if positional else keywords.get("main")
        if main is not None:
            args.append(_keyword_arg("name", main))
        if "include" in keywords:
            args.append(_keyword_arg("task_modules", keywords["include"]))
        # ``Celery(...)`` makes itself the app ``@shared_task`` tasks bind to unless told not to;
        # ``create_celery_app`` does so only with ``as_default=True``. Without it, migrated
        # ``.delay()`` calls would go to Celery's unconfigured default app (amqp://localhost).
        # Any other expression is passed on as is: it decided the same question before.
        as_default = keywords.get("set_as_current", cst.Name("True"))
        if not (isinstance(as_default, cst.Name) and as_default.value == "False"):
            args.append(_keyword_arg("as_default", as_default))
        args = [
            arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            for arg in args[:-1]
        ] + args[-1:]
        self._removed.add(name.split(".")[0])
        for target in updated_node.targets:
            target_name = dotted_name(target.target)
            if target_name:
                self._apps.add(target_name)
        self.changed(original_node, "Celery app now built by create_celery_app")
        return updated_node.with_changes(
            value=cst.Call(func=cst.Name("create_celery_app"), args=args)
        )

    def _settings_owner(self, expression: cst.BaseExpression) -> str:
        """``app.config.settings`` for ``settings`` imported from ``app.config`` (or defined
        here), the getter's qualified name for ``get_settings()``."""
        name = code(expression.func if isinstance(expression, cst.Call) else expression)
        source = self._imports.get(name)
        if source is not None:
            return source.lstrip(".")
        return f"{self.module_name or '<this module>'}.{name}"

    def leave_Expr(self, original_node: cst.Expr, updated_node: cst.Expr) -> cst.Expr:
        call = updated_node.value
        if not isinstance(call, cst.Call):
            return updated_node
        name = dotted_name(call.func) or ""
        for app in self._apps:
            if name in {f"{app}.conf.update", f"{app}.config_from_object"}:
                self.follow_up(
                    original_node,
                    f"{name}(...) runs after create_celery_app: keep only the options that"
                    " must differ from the runtime's (acks_late, prefetch, serializers and time"
                    " limits are already set from settings)",
                )
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.changes:
            return updated_node
        module = add_import(updated_node, RUNTIME_TASKS, "create_celery_app")
        return remove_unused_imports(module, self.removable(self._removed))
