"""The codemod behind a runtime release that renames public names: subclass, set ``RENAMES``.

A rename (old name removed) is the commonest breaking change of a library's public API, and the
one a codemod can carry completely, so a runtime release declares its renames as data and gets
the rewrite from here. What is rewritten, each only where it is proven:

* ``from M import old as alias``: the imported name becomes ``new``; the alias keeps every call
  site as it is.
* ``from M import old``: the import and every reference to the binding (scope analysis:
  libcst's ``ScopeProvider``, so a local ``old`` in a function is not touched) become ``new``.
  Where that cannot be proven (the module binds ``old`` twice, exports it through ``__all__``,
  another module imports it from this one, ``new`` is already bound, a string annotation names
  it) the import becomes ``from M import new as old``, which binds the same name to the new
  object: equally correct, only less tidy.
* ``import M`` / ``import M as m`` then ``M.old`` / ``m.old``: the attribute becomes ``new`` when
  the chain's root name refers only to imports.

A name moved to another module is rewritten only where its ``from`` import names it alone;
everything else that mentions a renamed name (``from M import *``, a string such as
``"M:old"``, a moved name imported next to others) is a follow-up with its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import libcst as cst
from libcst.helpers import get_full_name_for_node

from spaps_cli.codemods.base import Codemod, Outcome
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.import_edits import module_of
from spaps_cli.codemods.statements import dotted_name, dotted_node


def _split(path: str) -> tuple[str, str]:
    module, _, name = path.rpartition(".")
    return module, name


class _Collector(cst.CSTVisitor):
    """Every node the planning step looks at, in one walk."""

    def __init__(self) -> None:
        self.import_froms: list[cst.ImportFrom] = []
        self.imports: list[cst.Import] = []
        self.attributes: list[cst.Attribute] = []
        self.strings: list[cst.SimpleString] = []

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        self.import_froms.append(node)
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        self.imports.append(node)
        return False

    def visit_Assign(self, node: cst.Assign) -> bool:
        # ``__all__`` strings name this module's own exports (handled with the import), not
        # the runtime's: the rest of the assignment has nothing to collect.
        return not any(
            isinstance(target.target, cst.Name) and target.target.value == "__all__"
            for target in node.targets
        )

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        return not (isinstance(node.target, cst.Name) and node.target.value == "__all__")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.attributes.append(node)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.strings.append(node)


class RenamedRuntimeNames(Codemod):
    """Base of every "runtime X renamed these public names" codemod (not registered itself)."""

    #: ``"spaps_server_quickstart.db.create_metadata" -> "spaps_server_quickstart.db.build_metadata"``
    RENAMES: ClassVar[Mapping[str, str]] = {}
    #: The runtime release that made the change, for the messages.
    RUNTIME_VERSION: ClassVar[str] = ""
    NEEDLES: ClassVar[tuple[bytes, ...]] = ()  # derived from RENAMES by needles()

    @classmethod
    def needles(cls, config: MigrateConfig) -> tuple[bytes, ...]:
        return tuple(sorted({_split(old)[1].encode() for old in cls.RENAMES}))

    def apply(self, module: cst.Module) -> Outcome:
        from libcst.metadata import MetadataWrapper, ScopeProvider

        #: Planned edits, by the identity of the original node: a Name's new value, an import
        #: alias's new (name, asname), a ``from`` import's new (module, name, asname).
        self._names: dict[int, str] = {}
        self._aliases: dict[int, tuple[str, str | None]] = {}
        self._froms: dict[int, tuple[str, str, str | None]] = {}
        # unsafe_skip_copy: the scopes must refer to the very nodes the transformer visits.
        scopes = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ScopeProvider)
        found = _Collector()
        module.visit(found)
        self._plan_from_imports(module, found, scopes)
        self._plan_attributes(found, scopes)
        self._report_strings(found)
        return super().apply(module)

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        new = self._names.get(id(original_node))
        return updated_node if new is None else updated_node.with_changes(value=new)

    def leave_ImportAlias(
        self, original_node: cst.ImportAlias, updated_node: cst.ImportAlias
    ) -> cst.ImportAlias:
        edit = self._aliases.get(id(original_node))
        return updated_node if edit is None else _with_name(updated_node, *edit)

    def leave_ImportFrom(
        self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom
    ) -> cst.ImportFrom:
        edit = self._froms.get(id(original_node))
        if edit is None or isinstance(updated_node.names, cst.ImportStar):
            return updated_node
        module, name, asname = edit
        return updated_node.with_changes(
            module=dotted_node(module), names=[_with_name(updated_node.names[0], name, asname)]
        )

    # -- planning ------------------------------------------------------------------------

    def _since(self) -> str:
        return f" (runtime {self.RUNTIME_VERSION})" if self.RUNTIME_VERSION else ""

    def _plan_from_imports(
        self, module: cst.Module, found: _Collector, scopes: Mapping[cst.CSTNode, object]
    ) -> None:
        renamed_modules = {_split(old)[0] for old in self.RENAMES}
        for node in found.import_froms:
            source = module_of(node)
            if source is None:
                continue
            if isinstance(node.names, cst.ImportStar):
                if source in renamed_modules:
                    olds = ", ".join(
                        sorted(_split(o)[1] for o in self.RENAMES if o.startswith(f"{source}."))
                    )
                    self.follow_up(
                        node,
                        f"'from {source} import *' may use {olds}, renamed{self._since()}:"
                        " import the new names explicitly",
                    )
                continue
            for alias in node.names:
                old_name = alias.name.value if isinstance(alias.name, cst.Name) else None
                full = f"{source}.{old_name}"
                if old_name is None or full not in self.RENAMES:
                    continue
                new_module, new_name = _split(self.RENAMES[full])
                if new_module != source:
                    self._plan_move(node, alias, full, new_module, new_name)
                    continue
                if alias.asname is not None:
                    self._rename_alias(alias, new_name)
                    self.changed(node, f"{full} is {new_name}{self._since()}: import renamed")
                    continue
                references = self._references(module, node, old_name, new_name, scopes)
                if references is None:
                    self._aliases[id(alias)] = (new_name, old_name)
                    self.changed(
                        node,
                        f"{full} is {new_name}{self._since()}: imported as {old_name}"
                        " (renaming every use here is not provable)",
                    )
                    continue
                self._rename_alias(alias, new_name)
                for reference in references:
                    self._names[id(reference)] = new_name
                self.changed(
                    node,
                    f"{full} is {new_name}{self._since()}: import and {len(references)} use(s)"
                    " renamed",
                )

    def _plan_move(
        self,
        node: cst.ImportFrom,
        alias: cst.ImportAlias,
        full: str,
        new_module: str,
        new_name: str,
    ) -> None:
        target = f"{new_module}.{new_name}"
        if isinstance(node.names, cst.ImportStar) or len(node.names) != 1:
            self.follow_up(
                node,
                f"{full} moved to {target}{self._since()}: import it from {new_module}",
            )
            return
        keep = _split(full)[1]
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            keep = alias.asname.name.value

        self._froms[id(node)] = (new_module, new_name, keep if keep != new_name else None)
        self.changed(node, f"{full} moved to {target}{self._since()}: imported as {keep}")

    def _rename_alias(self, alias: cst.ImportAlias, new_name: str) -> None:
        self._aliases[id(alias)] = (new_name, None)

    def _references(
        self,
        module: cst.Module,
        node: cst.ImportFrom,
        old_name: str,
        new_name: str,
        scopes: Mapping[cst.CSTNode, object],
    ) -> list[cst.Name] | None:
        """Every use of the binding ``node`` makes, or None when renaming them is not proven."""
        from libcst.metadata import ImportAssignment, Scope

        scope = scopes.get(node)
        if not isinstance(scope, Scope):
            return None
        assignments = list(scope.assignments[old_name])
        if len(assignments) != 1 or not isinstance(assignments[0], ImportAssignment):
            return None  # bound twice (another import, an assignment, a def): keep the name
        if scope.assignments[new_name] or scope.accesses[new_name]:
            return None  # the new name already means something here
        if self.imported_elsewhere(old_name) or _in_all(module, old_name):
            return None  # part of this module's own interface: keep the name
        references: list[cst.Name] = []
        for access in assignments[0].references:
            if not isinstance(access.node, cst.Name) or access.node.value != old_name:
                return None  # a string annotation or other indirect use
            if len(access.referents) != 1:
                return None  # also bound elsewhere on some path (global, del, ...)
            references.append(access.node)
        return references

    def _plan_attributes(self, found: _Collector, scopes: Mapping[cst.CSTNode, object]) -> None:
        """``m.old`` where ``m`` names an imported module that renamed ``old``."""
        from libcst.metadata import Assignment, Scope

        bound: dict[str, str] = {}  # the dotted prefix a module import makes usable -> module
        for node in found.imports:
            for alias in node.names:
                full = get_full_name_for_node(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    bound[alias.asname.name.value] = full
                else:
                    bound[full] = full  # ``import a.b`` makes ``a.b.x`` usable
        if not bound:
            return
        for attribute in found.attributes:
            prefix = dotted_name(attribute.value)
            if prefix is None or prefix not in bound:
                continue
            full = f"{bound[prefix]}.{attribute.attr.value}"
            if full not in self.RENAMES:
                continue
            new_module, new_name = _split(self.RENAMES[full])
            root = attribute.value
            while isinstance(root, cst.Attribute):
                root = root.value
            scope = scopes.get(root)
            proven = (
                new_module == bound[prefix]
                and isinstance(root, cst.Name)
                and isinstance(scope, Scope)
                and all(
                    isinstance(assignment, Assignment) and isinstance(assignment.node, cst.Import)
                    for assignment in scope[root.value]
                )
                and bool(scope[root.value])
            )
            if not proven:
                self.follow_up(
                    attribute,
                    f"{full} is {self.RENAMES[full]}{self._since()}: change this use",
                )
                continue
            self._names[id(attribute.attr)] = new_name
            self.changed(attribute, f"{full} is {new_name}{self._since()}: attribute renamed")

    def _report_strings(self, found: _Collector) -> None:
        """A renamed name inside a string (an import path, ``getattr``) is a person's call."""
        for string in found.strings:
            try:
                value = string.evaluated_value
            except Exception:  # a malformed literal is just not a match
                continue
            if not isinstance(value, str):
                continue
            for old, new in self.RENAMES.items():
                module, name = _split(old)
                if value in (name, old, f"{module}:{name}"):
                    self.follow_up(
                        string,
                        f"the string {string.value} names {old}, renamed to {new}"
                        f"{self._since()}: change it if it refers to the runtime",
                    )
                    break


def _in_all(module: cst.Module, name: str) -> bool:
    """Does the module list ``name`` in ``__all__`` (it is then re-exported under that name)?"""
    code = module.code
    return "__all__" in code and (f'"{name}"' in code or f"'{name}'" in code)


def _with_name(node: cst.ImportAlias, new: str, asname: str | None) -> cst.ImportAlias:
    """The alias importing ``new`` (``as asname`` when given, the alias's own ``as`` kept)."""
    if asname is None:
        return node.with_changes(name=cst.Name(new))
    return node.with_changes(name=cst.Name(new), asname=cst.AsName(name=cst.Name(asname)))
