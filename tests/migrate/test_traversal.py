"""The traversal bases behave as LibCST's own visitor and transformer do, only cheaper."""

from __future__ import annotations

import libcst as cst

from spaps_cli.codemods.traversal import Transformer, Visitor

SOURCE = "def outer():\n    def inner():\n        return name\n    return name\n"


class _Names(Visitor):
    def __init__(self) -> None:
        self.seen: list[str] = []
        self.left: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node.name.value != "inner"  # the inner function's body is not visited

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.append(node.value)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.left.append(original_node.name.value)


class _Rename(Transformer):
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        return (
            updated_node.with_changes(value="other")
            if updated_node.value == "name"
            else updated_node
        )


class _AttributeHooks(Visitor):
    """A class with LibCST's per-attribute hooks gets LibCST's dispatch for them back."""

    def __init__(self) -> None:
        self.bodies = 0

    def visit_FunctionDef_body(self, node: cst.FunctionDef) -> None:
        self.bodies += 1


class _LibcstNames(cst.CSTVisitor):
    """The same hooks on LibCST's own base: the reference behaviour."""

    __init__ = _Names.__init__
    visit_FunctionDef = _Names.visit_FunctionDef
    visit_Name = _Names.visit_Name
    leave_FunctionDef = _Names.leave_FunctionDef


def test_a_visit_hook_returning_false_skips_the_children_and_leave_still_runs() -> None:
    names, reference = _Names(), _LibcstNames()
    cst.parse_module(SOURCE).visit(names)
    cst.parse_module(SOURCE).visit(reference)
    assert names.seen == ["outer", "name"]  # nothing inside ``inner``, its name included
    assert names.left == ["inner", "outer"]
    assert (names.seen, names.left) == (reference.seen, reference.left)


def test_a_leave_hook_replaces_the_node() -> None:
    assert cst.parse_module(SOURCE).visit(_Rename()).code == SOURCE.replace("name", "other")


def test_per_attribute_hooks_still_run_where_a_class_defines_them() -> None:
    hooks = _AttributeHooks()
    cst.parse_module(SOURCE).visit(hooks)
    assert hooks.bodies == 2


def test_each_class_has_its_own_hook_table() -> None:
    cst.parse_module(SOURCE).visit(_Names())
    cst.parse_module(SOURCE).visit(_Rename())
    assert _Names._visit_hooks is not _Rename._visit_hooks
    assert _Names._visit_hooks[cst.Name] is not None
    assert _Rename._visit_hooks[cst.Name] is None  # LibCST's do-nothing default: skipped
