"""Three-way merge of ``pyproject.toml`` by key, with tomlkit (the service's layout kept).

The service's document is edited in place: a key the template added is added, a value only the
template changed takes the template's value, a value the team changed is kept, a key the template
removed goes only if the team never changed it. Lists of strings (dependencies, extras) merge as
sets in the service's order; a requirement the template changed that the team also changed (same
project name, different text) is a conflict. ``[tool.spaps]`` is ``spaps``'s own record and is
never merged: the engine writes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_MISSING: Any = object()
_PROJECT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
SKIPPED = ("tool", "spaps")


@dataclass
class TomlMerge:
    text: str
    conflicts: list[str] = field(default_factory=list)  # dotted keys both sides changed


def merge_pyproject(base: str, ours: str, theirs: str) -> TomlMerge:
    import tomlkit

    document = tomlkit.parse(ours)
    conflicts: list[str] = []
    _merge_table(tomlkit.parse(base), document, tomlkit.parse(theirs), (), conflicts)
    return TomlMerge(text=tomlkit.dumps(document), conflicts=conflicts)


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _merge_table(
    base: Mapping[str, Any],
    ours: Any,
    theirs: Mapping[str, Any],
    path: tuple[str, ...],
    out: list[str],
) -> None:
    for key in list(theirs):
        here = (*path, key)
        if here == SKIPPED:
            continue
        t = theirs[key]
        b = base.get(key, _MISSING)
        o = ours.get(key, _MISSING)
        if o is not _MISSING and _plain(o) == _plain(t):
            continue
        if b is not _MISSING and _plain(b) == _plain(t):
            continue  # the template did not change it: the service's value (or absence) stands
        if o is _MISSING:
            if b is _MISSING:
                ours[key] = t
            else:
                out.append(".".join(here))  # removed by the team, changed by the template
        elif b is not _MISSING and _plain(o) == _plain(b):
            ours[key] = t
        elif isinstance(o, Mapping) and isinstance(t, Mapping):
            _merge_table(b if isinstance(b, Mapping) else {}, o, t, here, out)
        elif _strings(o) and _strings(t) and (b is _MISSING or _strings(b)):
            _merge_strings([] if b is _MISSING else list(b), o, list(t), here, out)
        else:
            out.append(".".join(here))
    for key in list(base):
        here = (*path, key)
        if key in theirs or here == SKIPPED or key not in ours:
            continue
        if _plain(ours[key]) == _plain(base[key]):
            del ours[key]
        else:
            out.append(".".join(here))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _name(requirement: str) -> str:
    match = _PROJECT_NAME.match(requirement.strip())
    return match.group().lower().replace("_", "-") if match else requirement


def _merge_strings(
    base: list[str], ours: Any, theirs: list[str], path: tuple[str, ...], out: list[str]
) -> None:
    removed = [item for item in base if item not in theirs]
    added = [item for item in theirs if item not in base and item not in ours]
    ours_names = {_name(item): item for item in ours if item not in base}
    for item in added:
        if _name(item) in ours_names:
            out.append(f"{'.'.join(path)}[{_name(item)}]")
            return
    for item in removed:
        if item in ours:
            ours.remove(item)
    for item in added:
        ours.append(item)
