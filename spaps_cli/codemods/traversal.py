"""LibCST visitor and transformer bases that find their hooks once per class, not per node.

LibCST dispatches every node four times (``on_visit``, ``on_visit_attribute`` per child
attribute, ``on_leave_attribute``, ``on_leave``), each time formatting a method name and looking
it up with ``getattr``; the lookup always succeeds, because LibCST defines a do-nothing
``visit_X``/``leave_X`` for every node type and every attribute, which is then called. On the
``spaps migrate`` benchmark that bookkeeping was about a third of the time spent traversing.

These bases keep the same semantics (a hook returning ``False`` skips the children, a leave
hook's return value replaces the node) but resolve ``visit_<Type>``/``leave_<Type>`` once per
class and node type, skip LibCST's do-nothing defaults, and skip the per-attribute hooks
entirely in classes that define none (none of ours does; a class that does gets LibCST's own
dispatch for them). Hooks are class attributes: assigning ``visit_X`` on an instance is not
seen, as it would not be worth supporting.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

import libcst as cst

#: ``visit_Call_func``-style names: LibCST's per-attribute hooks.
_ATTRIBUTE_HOOK = re.compile(r"(?:visit|leave)_[A-Z][A-Za-z]*_[a-z_]+")

_Hook = Callable[..., Any] | None


class _HookTable(dict[type, _Hook]):
    """Node type -> the class's own ``<prefix><Type>`` hook (None: none), found on first use."""

    def __init__(self, owner: type, prefix: str, library_base: type) -> None:
        super().__init__()
        self._owner = owner
        self._prefix = prefix
        self._library_base = library_base

    def __missing__(self, kind: type) -> _Hook:
        name = self._prefix + kind.__name__
        found = getattr(self._owner, name, None)
        library_default = getattr(self._library_base, name, None)
        hook = None if found is None or found is library_default else found
        self[kind] = hook
        return hook


def _defines_attribute_hooks(cls: type, library_base: type) -> bool:
    return any(
        _ATTRIBUTE_HOOK.fullmatch(name)
        and getattr(cls, name) is not getattr(library_base, name, None)
        for name in dir(cls)
    )


class _ResolvedHooks:
    """What both bases share: the hook tables, ``on_visit`` and the per-attribute hooks.

    ``_LIBRARY`` is the LibCST class whose do-nothing defaults are skipped (and whose own
    per-attribute dispatch a class that defines attribute hooks gets back).
    """

    _LIBRARY: ClassVar[type]
    _visit_hooks: ClassVar[dict[type, _Hook]]
    _leave_hooks: ClassVar[dict[type, _Hook]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        library = cls._LIBRARY
        cls._visit_hooks = _HookTable(cls, "visit_", library)
        cls._leave_hooks = _HookTable(cls, "leave_", library)
        if _defines_attribute_hooks(cls, library):
            cls.on_visit_attribute = library.on_visit_attribute  # type: ignore[attr-defined,method-assign]
            cls.on_leave_attribute = library.on_leave_attribute  # type: ignore[attr-defined,method-assign]

    def on_visit(self, node: cst.CSTNode) -> bool:
        hook = self._visit_hooks[type(node)]
        return hook is None or hook(self, node) is not False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


class Transformer(_ResolvedHooks, cst.CSTTransformer):
    """``cst.CSTTransformer`` with hooks resolved once per class (see the module docstring)."""

    _LIBRARY = cst.CSTTransformer

    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        hook = self._leave_hooks[type(original_node)]
        return updated_node if hook is None else hook(self, original_node, updated_node)


class Visitor(_ResolvedHooks, cst.CSTVisitor):
    """``cst.CSTVisitor`` with hooks resolved once per class (see the module docstring)."""

    _LIBRARY = cst.CSTVisitor

    def on_leave(self, original_node: cst.CSTNode) -> None:
        hook = self._leave_hooks[type(original_node)]
        if hook is not None:
            hook(self, original_node)
