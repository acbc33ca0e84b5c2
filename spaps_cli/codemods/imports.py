"""imports: rewrite imports of local modules to the shared runtime, by the configured map.

``[tool.spaps.migrate.modules]`` maps an old module to its shared replacement
(``"htma.core.logging" = "spaps_server_quickstart.logging"``); an entry may also map one name
(``"htma.core.logging:setup_logging" = "spaps_server_quickstart.logging:configure_logging"``),
which is imported under the old name so call sites keep working. A rewritten import that would
duplicate one the module already has is merged into it, so no duplicate or unused import is
left behind.
"""

from __future__ import annotations

from typing import ClassVar

import libcst as cst
from libcst.helpers import get_full_name_for_node

from spaps_cli.codemods.base import Codemod, Example
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.import_edits import bound_name, module_of
from spaps_cli.codemods.project_scan import ProjectFacts
from spaps_cli.codemods.statements import comment_lines, dotted_name, dotted_node


class ImportsToRuntime(Codemod):
    ID: ClassVar[str] = "imports"
    PREFLIGHT: ClassVar[str | None] = "runtime"
    SUMMARY: ClassVar[str] = (
        "Rewrite imports of local modules to the shared runtime (configured map)."
    )
    NEEDLES: ClassVar[tuple[bytes, ...]] = ()
    EXAMPLES: ClassVar[tuple[Example, ...]] = (
        Example(
            'with modules = {"htma.core.logging" = "spaps_server_quickstart.logging",'
            ' "htma.core.request_id:RequestIdMiddleware" ='
            ' "spaps_server_quickstart.request_context:RequestContextMiddleware"}',
            before="""\
from htma.core.logging import configure_logging
from htma.core.request_id import RequestIdMiddleware
from spaps_server_quickstart.logging import configure_logging, get_logger
""",
            after="""\
from spaps_server_quickstart.logging import configure_logging, get_logger
from spaps_server_quickstart.request_context import RequestContextMiddleware as RequestIdMiddleware
""",
        ),
    )
    EXAMPLE_CONFIG: ClassVar[MigrateConfig] = MigrateConfig(
        modules={
            "htma.core.logging": "spaps_server_quickstart.logging",
            "htma.core.request_id:RequestIdMiddleware": (
                "spaps_server_quickstart.request_context:RequestContextMiddleware"
            ),
        }
    )

    @classmethod
    def needles(cls, config: MigrateConfig) -> tuple[bytes, ...]:
        return tuple(key.split(":")[0].encode() for key in config.modules)

    def __init__(self, config: MigrateConfig, facts: ProjectFacts | None = None) -> None:
        super().__init__(config, facts)
        self._modules = {k: v for k, v in config.modules.items() if ":" not in k}
        self._names: dict[tuple[str, str], tuple[str, str]] = {}
        for key, value in config.modules.items():
            if ":" in key:
                old_module, old_name = key.split(":", 1)
                new_module, _, new_name = value.partition(":")
                self._names[(old_module, old_name)] = (new_module, new_name or old_name)
        self._plain: dict[str, str] = {}  # `import old` rewritten to `import new`

    def _new_module(self, old: str) -> str | None:
        for prefix in sorted(self._modules, key=len, reverse=True):
            if old == prefix or old.startswith(prefix + "."):
                return self._modules[prefix] + old[len(prefix) :]
        return None

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel | cst.FlattenSentinel[cst.BaseSmallStatement]:
        source = module_of(updated_node)
        if source is None or isinstance(updated_node.names, cst.ImportStar):
            if source is not None and self._new_module(source):
                self.follow_up(
                    original_node, f"'from {source} import *' not rewritten: list the names"
                )
            return updated_node
        moved_module = self._new_module(source)
        groups: dict[str, list[cst.ImportAlias]] = {}
        for alias in updated_node.names:
            name = get_full_name_for_node(alias.name) or ""
            if (source, name) in self._names:
                new_module, new_name = self._names[(source, name)]
                local = bound_name(alias)
                asname = cst.AsName(name=cst.Name(local)) if local != new_name else None
                groups.setdefault(new_module, []).append(
                    cst.ImportAlias(name=cst.Name(new_name), asname=asname)
                )
            else:
                groups.setdefault(moved_module or source, []).append(
                    alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)
                )
        if list(groups) == [source]:
            return updated_node
        self.changed(
            original_node,
            f"import from {source} rewritten to {', '.join(g for g in groups if g != source) or source}",
        )
        statements: list[cst.BaseSmallStatement] = []
        for module_name, aliases in groups.items():
            statements.append(
                cst.ImportFrom(module=dotted_node(module_name), names=_with_commas(aliases))
            )
        if len(statements) == 1:
            return updated_node.with_changes(
                module=statements[0].module if isinstance(statements[0], cst.ImportFrom) else None,
                names=_keep_layout(updated_node, groups[next(iter(groups))]),
                relative=(),
            )
        return cst.FlattenSentinel(statements)

    def leave_Import(self, original_node: cst.Import, updated_node: cst.Import) -> cst.Import:
        names: list[cst.ImportAlias] = []
        changed = False
        for alias in updated_node.names:
            old = get_full_name_for_node(alias.name) or ""
            new = self._new_module(old)
            if new is None:
                names.append(alias)
                continue
            changed = True
            if alias.asname is None:
                self._plain[old] = new
            names.append(alias.with_changes(name=dotted_node(new)))
        if not changed:
            return updated_node
        self.changed(original_node, "import rewritten to the shared module")
        return updated_node.with_changes(names=names)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.BaseExpression:
        if not self._plain:
            return updated_node
        name = dotted_name(updated_node)
        if name is None:
            return updated_node
        for old, new in self._plain.items():
            if name == old:
                return dotted_node(new)
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if not self.changes:
            return updated_node
        return _merge_duplicate_from_imports(updated_node)


def _with_commas(aliases: list[cst.ImportAlias]) -> list[cst.ImportAlias]:
    result = [
        alias.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        for alias in aliases[:-1]
    ]
    result.append(aliases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT))
    return result


def _keep_layout(node: cst.ImportFrom, aliases: list[cst.ImportAlias]) -> list[cst.ImportAlias]:
    """Keep the original commas/line breaks when the same number of names is imported."""
    if isinstance(node.names, cst.ImportStar) or len(node.names) != len(aliases):
        return _with_commas(aliases)
    return [
        alias.with_changes(comma=original.comma)
        for alias, original in zip(aliases, node.names, strict=True)
    ]


def _merge_duplicate_from_imports(module: cst.Module) -> cst.Module:
    """Fold repeated top-level ``from x import`` statements together, dropping repeated names."""
    first_index: dict[str, int] = {}
    body = list(module.body)
    seen_aliases: dict[str, set[tuple[str, str]]] = {}
    drop: set[int] = set()
    for index, statement in enumerate(body):
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        small = statement.body[0]
        if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
            continue
        source = module_of(small)
        if source is None or source == "__future__":
            continue
        keys = [
            (get_full_name_for_node(alias.name) or "", bound_name(alias)) for alias in small.names
        ]
        if source not in first_index:
            first_index[source] = index
            seen = seen_aliases.setdefault(source, set())
            unique: list[cst.ImportAlias] = []
            for alias, key in zip(small.names, keys, strict=True):
                if key not in seen:
                    seen.add(key)
                    unique.append(alias)
            if len(unique) != len(small.names):
                body[index] = statement.with_changes(
                    body=[small.with_changes(names=_with_commas(list(unique)))]
                )
            continue
        seen = seen_aliases[source]
        new_aliases = [a for a, k in zip(small.names, keys, strict=True) if k not in seen]
        seen.update(keys)
        target_statement = body[first_index[source]]
        assert isinstance(target_statement, cst.SimpleStatementLine)
        target = target_statement.body[0]
        assert isinstance(target, cst.ImportFrom)
        assert not isinstance(target.names, cst.ImportStar)
        if new_aliases:
            merged = [*target.names, *new_aliases]
            body[first_index[source]] = target_statement.with_changes(
                body=[target.with_changes(names=_with_commas(merged), lpar=None, rpar=None)]
            )
        drop.add(index)
    if not drop:
        return module
    result: list[cst.BaseStatement] = []
    carried: list[cst.EmptyLine] = []
    for index, statement in enumerate(body):
        if index in drop:
            carried.extend(comment_lines(statement))
            continue
        if carried:
            statement = statement.with_changes(leading_lines=[*carried, *statement.leading_lines])
            carried = []
        result.append(statement)
    return module.with_changes(body=result)
