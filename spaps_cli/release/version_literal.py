"""One ``__version__ = "X"`` in one module: found with :mod:`ast`, edited by its source span.

``__version__`` is found with :mod:`ast`, not a line pattern: a pattern misses indented
assignments (``try:``/``if`` blocks), chained ones (``__version__ = version = "1.0"``) and
triple-quoted values, and matches ``__version__ = "..."`` inside a docstring; each miss is a
stale version nobody notices. Only one plain string literal can be kept in sync, edited in place
by its source span (quotes and layout kept); any other form (a tuple, a name, an expression,
several assignments) is refused rather than skipped. A value read from the installed metadata
(``importlib.metadata.version(...)``) cannot go stale, so such a file has no ``__version__`` to
edit. Which modules are read is :mod:`.package`'s business.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from spaps_cli.errors import UsageError

DUNDER = "__version__"
#: A string literal as written: optional r/u prefix, the quotes, the text between them.
_STRING_LITERAL = re.compile(
    r"(?P<prefix>[rRuU]?)(?P<quote>\"\"\"|'''|\"|')(?P<body>.*)(?P=quote)", re.DOTALL
)
#: Lines as Python's tokenizer counts them (``ast`` line numbers), each with its line ending.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_SUPPORTED_FORM = f'the supported form is one plain string literal: {DUNDER} = "1.2.3"'


@dataclass(frozen=True)
class VersionFile:
    path: Path
    text: str
    value: str
    span: tuple[int, int]  # where the value sits in ``text``

    def with_version(self, version: str) -> str:
        start, end = self.span
        return self.text[:start] + version + self.text[end:]

    @property
    def line(self) -> int:
        return len(_LINE.findall(self.text[: self.span[0]])) or 1


def read_version_file(path: Path, *, required: bool) -> VersionFile | None:
    try:
        text = path.read_bytes().decode("utf-8")  # bytes: keep CRLF as it is
    except FileNotFoundError as exc:
        if required:
            raise UsageError(f"version file {path} does not exist") from exc
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"could not read version file {path}: {exc}") from exc
    found = find_dunder_version(path, text) if DUNDER in text else None
    if found is None and required:
        raise UsageError(f'{path} has no {DUNDER} = "..." assignment', hint=_SUPPORTED_FORM)
    return found


def find_dunder_version(path: Path, text: str) -> VersionFile | None:
    """The one ``__version__ = "X"`` of the module, located by its exact source span."""
    bom = 1 if text.startswith("\ufeff") else 0
    from spaps_cli.python_source import UnparsableSource, check_python

    try:
        tree = check_python(text[bom:], filename=str(path))
    except UnparsableSource as exc:
        raise UsageError(
            f"{exc.located(str(path))}, so {DUNDER} cannot be read",
            hint="fix the file first",
        ) from None
    assignments = _dunder_assignments(tree)
    if not assignments:
        return None
    if any(_reads_metadata(value) for _, value in assignments):
        return None  # derived from the installed metadata: nothing here can go stale
    if len(assignments) > 1:
        lines = ", ".join(str(node.lineno) for node, _ in assignments)
        raise UsageError(
            f"{path} assigns {DUNDER} {len(assignments)} times (lines {lines})",
            hint=f"keep one assignment so the bump knows which to change; {_SUPPORTED_FORM}",
        )
    node, value = assignments[0]
    if value is None:
        raise UsageError(
            f"{path}:{node.lineno}: {DUNDER} is assigned by unpacking or augmented assignment",
            hint=_SUPPORTED_FORM,
        )
    start, end = _offsets(text, bom, value)
    literal = _STRING_LITERAL.fullmatch(text[start:end])
    if (
        not isinstance(value, ast.Constant)
        or not isinstance(value.value, str)
        or literal is None
        or literal["body"] != value.value  # escapes or implicit concatenation ("1." "0")
    ):
        raise UsageError(
            f"{path}:{node.lineno}: {DUNDER} = {' '.join(text[start:end].split())} is not"
            " a plain string literal",
            hint=_SUPPORTED_FORM,
        )
    body_start = start + literal.start("body")
    return VersionFile(path, text, value.value, (body_start, body_start + len(value.value)))


def _dunder_assignments(tree: ast.Module) -> list[tuple[ast.stmt, ast.expr | None]]:
    """Every statement binding the module's ``__version__``, with the assigned value.

    Statements inside ``if``/``try``/``with``/loops count (they run at import); function and
    class bodies do not (they bind a local name). The value is None for forms that bind it
    without a single value: tuple unpacking and augmented assignment.
    """
    found: list[tuple[ast.stmt, ast.expr | None]] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.Assign):
            if any(_is_dunder(target) for target in node.targets):
                found.append((node, node.value))
            elif any(_binds_dunder(target) for target in node.targets):
                found.append((node, None))
        elif isinstance(node, ast.AnnAssign) and _is_dunder(node.target):
            if node.value is not None:  # a bare annotation binds nothing
                found.append((node, node.value))
        elif isinstance(node, ast.AugAssign) and _is_dunder(node.target):
            found.append((node, None))
        elif _is_block(node):
            pending.extend(child for child in ast.iter_child_nodes(node) if _is_block(child))
    return sorted(found, key=lambda item: item[0].lineno)


def _is_block(node: ast.AST) -> bool:
    return isinstance(node, (ast.stmt, ast.excepthandler, ast.match_case))


def _is_dunder(target: ast.expr) -> bool:
    return isinstance(target, ast.Name) and target.id == DUNDER


def _binds_dunder(target: ast.expr) -> bool:
    """True for ``__version__`` inside an unpacking target such as ``__version__, x = ...``."""
    return any(_is_dunder(node) for node in ast.walk(target) if isinstance(node, ast.Name))


def _reads_metadata(value: ast.expr | None) -> bool:
    """``version("pkg")`` / ``importlib.metadata.version("pkg")``: the installed version."""
    if not isinstance(value, ast.Call):
        return False
    function = value.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return name == "version"


def _offsets(text: str, bom: int, node: ast.expr) -> tuple[int, int]:
    """``node``'s span as offsets into ``text`` (ast counts columns in UTF-8 bytes)."""
    starts: list[int] = []
    lines: list[str] = []
    for match in _LINE.finditer(text, bom):
        starts.append(match.start())
        lines.append(match.group())
    end_line, end_column = node.end_lineno or node.lineno, node.end_col_offset or 0

    def offset(line: int, column: int) -> int:
        prefix = lines[line - 1].encode("utf-8")[:column].decode("utf-8")
        return starts[line - 1] + len(prefix)

    return offset(node.lineno, node.col_offset), offset(end_line, end_column)


def has_plain_literal(text: str) -> bool:
    bom = 1 if text.startswith("\ufeff") else 0
    from spaps_cli.python_source import UnparsableSource, check_python

    try:
        tree = check_python(text[bom:])
    except UnparsableSource:
        return False
    return any(
        isinstance(value, ast.Constant) and isinstance(value.value, str)
        for _, value in _dunder_assignments(tree)
    )
