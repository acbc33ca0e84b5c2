"""Our own Jinja trees as copier templates, for the benches that race copier.

Same files, same Jinja, same answers: only copier's configuration is added (``copier.yml``
with one question per answer, defaulting to spaps' value, and the Jinja options spaps renders
with), so copier does exactly the rendering spaps does and nothing spaps does not.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

#: spaps' two string filters; copier gets the plain quoted value (same output for our answers).
_FILTERED = re.compile(r"\{\{\s*(\w+)\s*\|\s*(?:quoted|python_string)\s*\}\}")


def plain_filters(text: str) -> str:
    return _FILTERED.sub(r'"{{ \1 }}"', text)


def _question(value: object) -> tuple[str, str]:
    """(copier type, default as YAML): JSON is YAML, so every default is written as JSON."""
    if isinstance(value, bool):
        return "bool", json.dumps(value)
    if isinstance(value, str):
        return "str", json.dumps(value)
    return "yaml", json.dumps(json.dumps(value))  # a YAML document in a string: lists, None


def build_copier_template(
    source: Path,
    destination: Path,
    answers: Mapping[str, object],
    *,
    rendered: Callable[[str], bool] = lambda relative: True,
) -> Path:
    """Copy ``source`` to ``destination`` as a copier template answering ``answers``.

    ``rendered(relative_path)`` says which ``.jinja`` files spaps renders for these answers;
    the others are left out (copier renders every file it is given).
    """
    shutil.copytree(source, destination)
    for path in list(destination.rglob("*.jinja")):
        if not rendered(path.relative_to(destination).as_posix()):
            path.unlink()
    for path in destination.rglob("*.jinja"):
        path.write_text(plain_filters(path.read_text()))
    lines = [
        "_envops:",
        "  trim_blocks: true",
        "  lstrip_blocks: true",
        "  keep_trailing_newline: true",
        "_templates_suffix: .jinja",
    ]
    for key, value in answers.items():
        kind, default = _question(value)
        lines += [f"{key}:", f"  type: {kind}", f"  default: {default}"]
    (destination / "copier.yml").write_text("\n".join(lines) + "\n")
    return destination
