"""Parsing a Python file the user gave us, without letting any file crash the process.

LibCST's parser is native code: it recurses once (or, for brackets, a dozen times) per level of
nesting, and a C stack overflow is a SIGSEGV, not an exception. On an 8 MiB main-thread stack
2,000 nested parentheses, or 10,000 unary minuses, kill ``spaps migrate`` outright. CPython's
own parser is hardened (it counts its depth and raises ``SyntaxError``, ``RecursionError`` or
``MemoryError``), so every parse here goes:

1. ``ast.parse`` first: a file CPython cannot parse (200 nested brackets is its limit) is a
   syntax error, reported with CPython's message and line, before libcst ever sees it;
2. the depth of that tree, walked without recursion and counted the way libcst nests
   (``a and b and c`` is one flat node in ``ast`` but one level per operator in libcst); a file
   deeper than :data:`MAX_NESTING` is refused;
3. only then libcst, on a thread with a :data:`STACK_BYTES` stack, so the margin does not
   depend on ``ulimit -s``: at :data:`MAX_NESTING` levels the deepest-recursing construct
   measured needs well under a tenth of it.

Visitors that recurse in Python (libcst's codegen and transformers) raise ``RecursionError``
on deep trees; callers report that per file too.
"""

from __future__ import annotations

import ast
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from spaps_cli.thread_call import call_on_thread, start_thread

if TYPE_CHECKING:
    import libcst as cst

#: Deepest tree accepted. Real code stays under 50; at 1,000 levels libcst still parses every
#: construct measured in under a second and 250 MB (it grows faster than linearly beyond).
MAX_NESTING = 1000
#: Stack of the thread the parsers run on (address space; pages are used only when touched).
STACK_BYTES = 256 * 1024 * 1024

_T = TypeVar("_T")
_deep = threading.local()


class UnparsableSource(Exception):
    """The text is not Python this CLI can parse safely.

    ``reason`` is one line without a position; ``message`` names the line when there is one
    (``syntax error at line 3: ...``); ``located(filename)`` is ``file:3: syntax error: ...``.
    """

    def __init__(self, reason: str, *, line: int | None = None) -> None:
        self.reason = reason
        self.line = line
        head, _, tail = reason.partition(": ")
        self.message = f"{head} at line {line}: {tail}" if line and tail else reason
        super().__init__(self.message)

    def located(self, filename: str) -> str:
        return (
            f"{filename}:{self.line}: {self.reason}" if self.line else f"{filename}: {self.reason}"
        )


def on_deep_stack(function: Callable[[], _T]) -> _T:
    """Run ``function`` on a thread with a :data:`STACK_BYTES` stack and return its result.

    Already on such a thread, it runs inline. If the system refuses the stack (a strict
    overcommit policy), it runs on the current thread: the depth limit still applies.
    """
    if getattr(_deep, "active", False):
        return function()

    def marked() -> _T:
        _deep.active = True  # calls made from here on are on the deep stack already
        try:
            return function()
        finally:
            _deep.active = False

    return call_on_thread(marked, name="spaps-parse", stack_bytes=STACK_BYTES)


def start_deep_thread(target: Callable[[], None]) -> threading.Thread | None:
    """Start ``target`` on a daemon thread with a :data:`STACK_BYTES` stack; None if refused.

    Reserving the stack and starting a thread costs about as much as parsing a small module,
    so a caller with many files runs its whole loop on one such thread rather than one thread
    per file: :func:`on_deep_stack` calls inside it run inline.
    """

    def run() -> None:
        _deep.active = True
        target()

    return start_thread(run, name="spaps-parse", stack_bytes=STACK_BYTES)


def nesting_depth(tree: ast.AST, *, stop_at: int = MAX_NESTING) -> int:
    """How deep libcst's tree for ``tree`` nests, counted without recursion (stops past ``stop_at``)."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.BoolOp):
            depth += len(node.values) - 1
        if depth > deepest:
            deepest = depth
            if deepest > stop_at:
                return deepest
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def check_python(source: str | bytes, *, filename: str = "<source>") -> ast.Module:
    """CPython's parse of ``source`` and the depth check; raise :class:`UnparsableSource`."""

    def parse() -> ast.Module:
        try:
            return ast.parse(source, filename=filename)
        except SyntaxError as exc:
            raise UnparsableSource(f"syntax error: {exc.msg}", line=exc.lineno or 0) from None
        except (RecursionError, MemoryError):
            raise UnparsableSource(
                "nested too deeply for Python's own parser: not Python that can run"
            ) from None
        except ValueError as exc:  # NUL bytes (Python 3.11 raises ValueError, not SyntaxError)
            raise UnparsableSource(f"not Python source: {exc}") from None

    tree = on_deep_stack(parse)
    depth = nesting_depth(tree)
    if depth > MAX_NESTING:
        raise UnparsableSource(
            f"nested more than {MAX_NESTING} levels deep: too deep to parse safely, skipped"
        )
    return tree


def parse_module(source: str | bytes, *, filename: str = "<source>") -> cst.Module:
    """LibCST's tree of ``source``, after :func:`check_python`; raise :class:`UnparsableSource`."""
    import libcst as cst

    def parse() -> cst.Module:
        check_python(source, filename=filename)
        try:
            return cst.parse_module(source)
        except cst.ParserSyntaxError as exc:
            first = (exc.message.strip().splitlines() or ["cannot parse"])[0]
            raise UnparsableSource(f"syntax error: {first}", line=exc.raw_line) from None
        except RecursionError:
            raise UnparsableSource("nested too deeply to parse: skipped") from None

    return on_deep_stack(parse)
