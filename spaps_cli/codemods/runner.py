"""Walk, pre-filter, parse once, run every selected codemod, then diff or write.

The cost model (docs/PERFORMANCE.md, "spaps migrate"): a byte check is free, ``libcst`` parsing
is ~13 ms for a typical module, and the avoidable costs (matcher dispatch, metadata deep copies,
``AddImportsVisitor``) are avoided. So each file is read once, skipped unless some codemod's
needle occurs in its bytes, parsed once, and passed through the matching codemods on the same
tree. Large trees are spread over a process pool; workers receive paths, never file contents.
Every per-file problem becomes an error in the report and the run goes on; nothing is written
unless the new code parses, and writes go through :func:`spaps_cli.plan.atomic_write`.
"""

from __future__ import annotations

import ast
import difflib
import errno
import fnmatch
import functools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path

import libcst as cst

from spaps_cli.codemods.base import (
    PREREQUISITES,
    Codemod,
    Finding,
    PendingFinding,
    prerequisite_met,
)
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.project_scan import ProjectFacts, module_name, scan_sources
from spaps_cli.codemods.registry import select_codemods
from spaps_cli.plan import atomic_write
from spaps_cli.python_source import UnparsableSource, on_deep_stack, parse_module

#: Directories never worth walking into (virtualenvs, VCS, build output, caches).
SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "build",
        "dist",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".eggs",
        "site-packages",
    }
)
#: Files larger than this are reported, not parsed: generated code, vendored blobs.
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Below this many files a pool costs more to start than it saves.
POOL_THRESHOLD = 200
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
#: ``# spaps: ignore`` (every codemod) or ``# spaps: ignore[on-event-to-lifespan, ...]``.
_IGNORE_COMMENT = re.compile(r"#\s*spaps:\s*ignore(?:\[(?P<ids>[^\]]*)\])?")


class Mode(StrEnum):
    WRITE = "write"
    CHECK = "check"
    DIFF = "diff"


@dataclass(frozen=True)
class RunOptions:
    """Everything a worker needs: small, frozen and picklable."""

    mode: Mode
    codemod_ids: tuple[str, ...]
    config: MigrateConfig
    #: The project scan (:func:`scan_project`); None scans each file on its own.
    facts: ProjectFacts | None = None


@dataclass(frozen=True)
class FileResult:
    path: str
    changed: bool = False
    parsed: bool = False
    diff: str = ""
    findings: tuple[Finding, ...] = ()
    counts: tuple[tuple[str, int], ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class SourceFile:
    """A file to migrate: where to read/write it and how to name it in the report."""

    path: Path
    display: str


@dataclass
class Discovery:
    files: list[SourceFile] = field(default_factory=list)
    errors: list[FileResult] = field(default_factory=list)


@dataclass(frozen=True)
class Migration:
    """The outcome of running codemods over one source text."""

    new_source: bytes
    findings: tuple[Finding, ...]
    counts: tuple[tuple[str, int], ...]
    parsed: bool = True
    #: The encoding the file was read and is written with (its coding declaration or UTF-8).
    encoding: str = "utf-8"

    def changed(self, old: bytes) -> bool:
        return self.new_source != old


class BadSource(Exception):
    """The input cannot be migrated (syntax error, encoding, binary): a per-file error."""


# -- one source text -----------------------------------------------------------------------


def check_source(data: bytes) -> None:
    """Refuse binary data and text that is neither UTF-8 nor declares its own encoding."""
    if b"\x00" in data:
        raise BadSource("binary file (NUL bytes), not Python source")
    head = data.split(b"\n", 2)[:2]
    if any(_CODING.match(line) for line in head):
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadSource(
            f"not UTF-8 (byte {exc.start}): save it as UTF-8 or add a coding declaration"
        ) from None


def wanted_codemods(
    data: bytes, codemods: Sequence[type[Codemod]], config: MigrateConfig
) -> list[type[Codemod]]:
    """The byte pre-filter: codemods one of whose needles occurs in ``data``."""
    return [codemod for codemod in codemods if codemod.wants(data, config)]


def migrate_source(
    data: bytes,
    codemods: Sequence[type[Codemod]],
    config: MigrateConfig,
    display: str = "<source>",
    facts: ProjectFacts | None = None,
) -> Migration:
    """Run ``codemods`` over ``data`` (bytes, BOM and newlines kept); raise BadSource if unusable.

    ``facts`` is the project scan; without one, the file is the whole project.
    """
    check_source(data)
    if facts is None:
        # One file is not the project: who imports it is unknown, not "nobody".
        facts = replace(scan_sources({display: data}, config.settings_class), scanned=False)
    selected = wanted_codemods(data, codemods, config)
    if not selected:
        return Migration(data, (), (), parsed=False)
    try:
        module = parse_module(data, filename=display)
    except UnparsableSource as exc:
        raise BadSource(exc.message) from None
    except (UnicodeDecodeError, LookupError, ValueError) as exc:
        raise BadSource(f"cannot decode: {exc}") from None
    counts: list[tuple[str, int]] = []
    located: list[tuple[str, cst.Module, Sequence[PendingFinding]]] = []
    # What the run's codemods make true of the project (checked against the scan's facts).
    provided = {name for codemod in codemods for name in codemod.PROVIDES}
    dotted = module_name(display)
    parsed = module
    original = data.decode(module.encoding, errors="replace").removeprefix("\ufeff")
    for codemod in selected:
        before = module
        instance = codemod(config, facts)
        instance.module_name = dotted
        # Generating a module's code costs about what parsing it did: a codemod that needs
        # the text gets the file's own while nothing has rewritten it yet.
        instance.source_text = original if module is parsed else None
        outcome = instance.apply(module)
        unmet = [
            name
            for name in codemod.REQUIRES
            if not prerequisite_met(name, facts, frozenset(provided))
        ]
        if unmet and outcome.changes:
            # Its output would not run: what it would have rewritten becomes a follow-up that
            # names the missing prerequisite, and the module stays as it was.
            reason = "; ".join(PREREQUISITES[name] for name in unmet)
            pending = [
                PendingFinding(
                    item.anchor, f"not rewritten, {reason} ({item.message})", False, item.hint
                )
                if item.auto_fixable
                else item
                for item in outcome.pending
            ]
            located.append((codemod.ID, before, pending))
            continue
        if outcome.changes:
            # A codemod that rewrote nothing hands back an equal tree (LibCST rebuilds every
            # node it visits); keeping the parsed one spares generating the unchanged code.
            module = outcome.module
            counts.append((codemod.ID, outcome.changes))
        if outcome.pending:
            located.append((codemod.ID, before, outcome.pending))
    # Line numbers refer to the file as it was before the run: that is what --check and
    # --diff users are looking at, and what a later codemod's input no longer shows.
    findings = [
        finding
        for codemod_id, before, pending in located
        for finding in _locate(codemod_id, display, before, pending, original)
    ]
    new_source = data if module is parsed else module.bytes
    if new_source != data:
        try:
            ast.parse(new_source)
        except SyntaxError as exc:  # pragma: no cover - a codemod bug, never written
            raise BadSource(f"internal error: the rewritten file does not parse ({exc})") from None
    return Migration(new_source, tuple(findings), tuple(counts), encoding=module.encoding)


def _first_code_line(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped
    return ""


def _anchor_text(module: cst.Module, node: cst.CSTNode) -> str:
    """A line of source that identifies ``node``, without generating a whole class or def."""
    if isinstance(node, cst.FunctionDef | cst.ClassDef):
        if node.decorators:
            return "@" + _first_code_line(module.code_for_node(node.decorators[0].decorator))
        keyword = "class" if isinstance(node, cst.ClassDef) else "def"
        return f"{keyword} {node.name.value}"
    if isinstance(node, cst.SimpleStatementLine) and node.body:
        return _first_code_line(module.code_for_node(node.body[0]))
    return _first_code_line(module.code_for_node(node))


def _locate(
    codemod_id: str,
    display: str,
    module: cst.Module,
    pending: Sequence[PendingFinding],
    original: str,
) -> Iterator[Finding]:
    """Line numbers by text search (cheap): in the original file first, then in the text this
    codemod saw; PositionProvider only when neither has the text."""
    seen: str | None = None
    lines: list[int | None] = []
    for item in pending:
        needle = item.hint
        if item.anchor is not None:
            needle = _anchor_text(module, item.anchor) or needle
        line = _line_of(original, needle)
        if line is not None and item.anchor is not None and original.count(needle or "") > 1:
            line = None  # the text is ambiguous (two ``def ready``): ask for the node's position
        elif line is None and needle:
            if seen is None:
                seen = module.code
            line = _line_of(seen, needle)
        lines.append(line)
    if any(
        line is None and item.anchor is not None for line, item in zip(lines, pending, strict=True)
    ):
        from libcst.metadata import MetadataWrapper, PositionProvider

        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        for index, item in enumerate(pending):
            if lines[index] is None and item.anchor is not None and item.anchor in positions:
                lines[index] = positions[item.anchor].start.line
    source_lines = original.splitlines()
    for line, item in zip(lines, pending, strict=True):
        number = line or 1
        text = source_lines[number - 1] if number <= len(source_lines) else ""
        yield Finding(
            codemod_id,
            display,
            number,
            item.message,
            item.auto_fixable,
            deprecated=item.deprecated,
            acknowledged=not item.auto_fixable and acknowledged_inline(text, codemod_id),
        )


def acknowledged_inline(line: str, codemod_id: str) -> bool:
    """Does ``line`` carry ``# spaps: ignore`` or ``# spaps: ignore[...]`` naming the codemod?"""
    for match in _IGNORE_COMMENT.finditer(line):
        ids = match.group("ids")
        if ids is None or codemod_id in {part.strip() for part in ids.split(",")}:
            return True
    return False


def _line_of(text: str, needle: str | None) -> int | None:
    if not needle:
        return None
    offset = text.find(needle)
    return text.count("\n", 0, offset) + 1 if offset >= 0 else None


# -- one file ------------------------------------------------------------------------------


@functools.cache
def _codemods_named(ids: tuple[str, ...]) -> tuple[type[Codemod], ...]:
    """Once per process, not once per file: ordering them by prerequisite is not free."""
    return select_codemods(ids)


def process_file(source: SourceFile, options: RunOptions) -> FileResult:
    """Read, migrate and (in write mode) atomically write one file; never raises."""
    display = source.display
    try:
        size = source.path.stat().st_size
        if size > MAX_FILE_BYTES:
            return FileResult(
                display, error=f"too large ({size} bytes > {MAX_FILE_BYTES}): skipped"
            )
        data = source.path.read_bytes()
    except OSError as exc:
        return FileResult(display, error=f"cannot read: {_os_reason(exc)}")
    if not data.strip():
        return FileResult(display)
    # No ids means none (the preflight may drop every codemod), not "all" as on the CLI.
    codemods = _codemods_named(tuple(options.codemod_ids)) if options.codemod_ids else ()
    try:
        migration = on_deep_stack(
            lambda: migrate_source(data, codemods, options.config, display, options.facts)
        )
    except BadSource as exc:
        return FileResult(display, error=str(exc))
    except RecursionError:
        return FileResult(
            display, error="nested too deeply for the codemods (Python's recursion limit): skipped"
        )
    except Exception as exc:  # a codemod bug must not stop the run over the other files
        return FileResult(
            display, error=f"internal error in a codemod: {type(exc).__name__}: {exc}"
        )
    findings = acknowledged_in_config(migration.findings, options.config.acknowledge)
    changed = migration.changed(data)
    diff = ""
    if changed and options.mode is Mode.DIFF:
        diff = unified_diff(display, data, migration.new_source, migration.encoding)
    if changed and options.mode is Mode.WRITE:
        try:
            atomic_write(source.path, migration.new_source)
        except OSError as exc:
            return FileResult(
                display,
                parsed=True,
                findings=findings,
                error=f"cannot write: {_os_reason(exc)}",
            )
    return FileResult(
        display,
        changed=changed,
        parsed=migration.parsed,
        diff=diff,
        findings=findings,
        counts=migration.counts,
    )


def acknowledged_in_config(
    findings: Sequence[Finding], acknowledge: Sequence[str]
) -> tuple[Finding, ...]:
    """Mark the follow-ups ``[tool.spaps.migrate] acknowledge`` lists (``"GLOB:ID"`` or ``"GLOB"``)."""
    if not acknowledge:
        return tuple(findings)
    marked: list[Finding] = []
    for finding in findings:
        for entry in acknowledge:
            pattern, _, codemod_id = entry.rpartition(":") if ":" in entry else (entry, "", "")
            if (
                not finding.auto_fixable
                and codemod_id in ("", finding.codemod)
                and _excluded(finding.path, [pattern])
            ):
                finding = replace(finding, acknowledged=True)
                break
        marked.append(finding)
    return tuple(marked)


#: What ``git diff``/``diff -u`` print after a last line that has no newline.
NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(
    display: str, old: bytes | None, new: bytes | None, encoding: str = "utf-8"
) -> str:
    """A unified diff that ``git apply``/``patch -p1`` accept, for any two versions of a file.

    ``None`` is a file that does not exist (``/dev/null``: a new or removed file). Lines are
    split on ``\n`` only, so ``\r\n`` endings and form feeds travel inside the lines, and a
    last line without a newline gets the ``\\ No newline at end of file`` marker.
    """
    before = _patch_lines(old, encoding)
    after = _patch_lines(new, encoding)
    source = f"a/{display}" if old is not None else "/dev/null"
    target = f"b/{display}" if new is not None else "/dev/null"
    out: list[str] = []
    for line in difflib.unified_diff(before, after, source, target):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n" + NO_NEWLINE)
    if out and (old is None or new is None):
        mode = "new file mode 100644\n" if old is None else "deleted file mode 100644\n"
        out.insert(0, f"diff --git a/{display} b/{display}\n{mode}")
    return "".join(out)


def _patch_lines(data: bytes | None, encoding: str) -> list[str]:
    if data is None:
        return []
    text = data.decode(encoding, errors="replace")
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return exc.strerror or str(exc)


def _process_chunk(chunk: list[SourceFile], options: RunOptions) -> list[FileResult]:
    """A pool worker's share: the whole chunk on one deep-stack thread (see ``_run_in_order``)."""
    return on_deep_stack(lambda: [process_file(source, options) for source in chunk])


# -- walking -------------------------------------------------------------------------------


class _IgnoreRules:
    """``.gitignore`` files from the repository root down, applied with pathspec."""

    def __init__(self) -> None:
        self._specs: dict[Path, object] = {}

    def spec_for(self, directory: Path) -> object | None:
        if directory not in self._specs:
            import pathspec

            gitignore = directory / ".gitignore"
            spec: object | None = None
            try:
                if gitignore.is_file():
                    spec = pathspec.GitIgnoreSpec.from_lines(
                        gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
                    )
            except OSError:
                spec = None
            self._specs[directory] = spec
        return self._specs[directory]

    def ignored(self, path: Path, is_dir: bool, chain: Sequence[Path]) -> bool:
        for directory in chain:
            spec = self.spec_for(directory)
            if spec is None:
                continue
            relative = path.relative_to(directory).as_posix() + ("/" if is_dir else "")
            if spec.match_file(relative):  # type: ignore[attr-defined]
                return True
        return False


def _ancestors_to_repo_root(directory: Path) -> list[Path]:
    """Directories whose .gitignore applies: up to the one containing .git (if any)."""
    chain = [directory]
    for parent in directory.parents:
        if (chain[-1] / ".git").exists():
            break
        chain.append(parent)
    else:
        return [directory]
    if not (chain[-1] / ".git").exists():
        return [directory]
    return list(reversed(chain))


def _excluded(display: str, patterns: Sequence[str]) -> bool:
    name = display.rsplit("/", 1)[-1]
    return any(
        fnmatch.fnmatch(display, pattern)
        or fnmatch.fnmatch(name, pattern)
        or fnmatch.fnmatch(display, f"*/{pattern}")
        or display.startswith(pattern.rstrip("/") + "/")
        for pattern in patterns
    )


def display_path(path: Path, base: Path) -> str:
    """How the report names ``path``: relative to ``base`` when under it."""
    return _display(path, base)


def _display(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def discover(paths: Sequence[Path], exclude: Sequence[str], base: Path) -> Discovery:
    """Every ``.py``/``.pyi`` file under ``paths``; explicit files are always taken."""
    found = Discovery()
    seen: set[Path] = set()
    rules = _IgnoreRules()

    def take(path: Path, display: str, *, walked: bool = False) -> None:
        if _excluded(display, exclude):
            return
        try:
            # Walked paths are under a resolved root and the walk follows no links, so only a
            # path that is itself a link needs resolving (resolve() costs an lstat per part).
            real = path.resolve(strict=True) if not walked or path.is_symlink() else path
        except (OSError, RuntimeError) as exc:
            reason = (
                "symlink loop"
                if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
                else (getattr(exc, "strerror", None) or str(exc))
            )
            found.errors.append(FileResult(display, error=f"cannot read: {reason}"))
            return
        if real in seen:
            return
        seen.add(real)
        if not real.is_file():
            found.errors.append(FileResult(display, error="not a regular file"))
            return
        found.files.append(SourceFile(real, display))

    for root in paths:
        display_root = _display(root.absolute(), base)
        if root.is_symlink() and not root.exists():
            found.errors.append(
                FileResult(display_root, error="cannot read: broken symlink or symlink loop")
            )
            continue
        if not root.exists():
            found.errors.append(FileResult(display_root, error="no such file or directory"))
            continue
        if not root.is_dir():
            take(root, display_root)
            continue
        top = root.resolve()
        base_chain = _ancestors_to_repo_root(top)
        for directory, subdirs, filenames in os.walk(top, followlinks=False):
            current = Path(directory)
            chain = base_chain
            if current != top:
                chain = base_chain + [top / part for part in _relative_parts(current, top)]
            kept: list[str] = []
            for name in sorted(subdirs):
                candidate = current / name
                if name in SKIPPED_DIRECTORIES or (candidate / "pyvenv.cfg").exists():
                    continue
                if rules.ignored(candidate, True, chain):
                    continue
                if _excluded(_display(candidate, base) + "/", exclude):
                    continue
                kept.append(name)
            subdirs[:] = kept
            for name in sorted(filenames):
                if not name.endswith((".py", ".pyi")):
                    continue
                candidate = current / name
                if rules.ignored(candidate, False, chain):
                    continue
                take(candidate, _display(candidate, base), walked=True)
    return found


def _relative_parts(current: Path, top: Path) -> list[Path]:
    """``a``, ``a/b``, ``a/b/c`` for ``top/a/b/c``: the directories whose .gitignore apply."""
    parts = current.relative_to(top).parts
    return [Path(*parts[: i + 1]) for i in range(len(parts))]


# -- the run -------------------------------------------------------------------------------


def scan_project(sources: Sequence[SourceFile], settings_class: str = "Settings") -> ProjectFacts:
    """Read every file once for :func:`scan_sources`; unreadable files are the run's errors."""
    contents: dict[str, bytes] = {}
    for source in sources:
        try:
            if source.path.stat().st_size <= MAX_FILE_BYTES:
                contents[source.display] = source.path.read_bytes()
        except OSError:
            continue
    return scan_sources(contents, settings_class)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: what was done (``results``) and the files never looked at.

    Still a ``KeyboardInterrupt``: a caller that has nothing to add (``spaps doctor``) lets it
    reach the CLI's one-line answer to Ctrl-C; ``spaps migrate`` catches it to list the files.
    """

    def __init__(self, results: list[FileResult], remaining: list[SourceFile]) -> None:
        super().__init__(f"interrupted with {len(remaining)} files left")
        self.results = results
        self.remaining = remaining


def run(
    sources: Sequence[SourceFile],
    options: RunOptions,
    *,
    jobs: int,
    on_result: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Process every file, in a pool when the tree is large; results keep input order.

    Ctrl-C raises :class:`RunInterrupted`: files are written atomically, so each one is either
    migrated (and in ``results``) or untouched (and in ``remaining``); the pool's workers
    ignore SIGINT and finish the files they hold, so that is known for every file.
    """
    results: list[FileResult] = []

    def emit(result: FileResult) -> None:
        results.append(result)
        if on_result:
            on_result(result)

    workers = max(1, min(jobs, -(-len(sources) // 16)))
    if workers == 1 or len(sources) < POOL_THRESHOLD:
        _run_in_order(sources, options, emit, results)
        return results
    chunk = max(8, min(64, len(sources) // (workers * 8) or 8))
    chunks = [list(sources[i : i + chunk]) for i in range(0, len(sources), chunk)]
    done = 0
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_interrupts)
    futures = []
    try:
        futures = [pool.submit(_process_chunk, part, options) for part in chunks]
        for future in futures:
            for result in future.result():
                emit(result)
            done += 1
    except BrokenProcessPool:
        pass
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)
        remaining: list[SourceFile] = []
        for part, future in zip(chunks[done:], futures[done:], strict=False):
            if future.done() and not future.cancelled() and future.exception() is None:
                for result in future.result():
                    emit(result)
            else:
                remaining.extend(part)
        remaining.extend(source for part in chunks[len(futures) :] for source in part)
        raise RunInterrupted(results, remaining) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    # A worker died (killed, out of memory, a native crash): the pool is gone and which file
    # did it is unknown, so every file not yet reported runs in a process of its own.
    left = [source for part in chunks[done:] for source in part]
    for index, source in enumerate(left):
        try:
            emit(_isolated(source, options))
        except KeyboardInterrupt:
            raise RunInterrupted(results, left[index:]) from None
    return results


class _Finished:
    """The in-order worker's last message: it stopped, with ``failure`` if it crashed."""

    def __init__(self, failure: BaseException | None = None) -> None:
        self.failure = failure


def _run_in_order(
    sources: Sequence[SourceFile],
    options: RunOptions,
    emit: Callable[[FileResult], None],
    results: list[FileResult],
) -> None:
    """Process ``sources`` one by one on a single deep-stack thread; report on this one.

    One thread for the whole run, not one per file (starting a thread with a large stack costs
    about what parsing a small module does). The worker appends each result to ``done`` and
    wakes this thread, which reports it, so ``on_result`` runs on the caller's thread. Ctrl-C
    reaches this thread: the worker is told to stop after the file it holds (written
    atomically, so whole), and every file it finished is reported before
    :class:`RunInterrupted` lists the rest. ``emit`` appends to ``results`` first, so
    ``results`` is always a prefix of ``done``: wherever Ctrl-C lands, catching up from
    ``len(results)`` neither loses nor repeats a file.
    """
    import queue
    import threading

    from spaps_cli.python_source import start_deep_thread

    done: list[FileResult] = []
    wakeups: queue.SimpleQueue[_Finished | None] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        try:
            for source in sources:
                if stop.is_set():
                    break
                done.append(process_file(source, options))
                wakeups.put(None)
        except BaseException as exc:  # re-raised on the caller's thread
            wakeups.put(_Finished(exc))
        else:
            wakeups.put(_Finished())

    if start_deep_thread(work) is None:  # pragma: no cover - the stack could not be reserved
        work()

    def drain() -> _Finished:
        while True:
            message = wakeups.get()
            while len(results) < len(done):
                emit(done[len(results)])
            if message is not None:
                return message

    try:
        finished = drain()
    except KeyboardInterrupt:
        stop.set()
        finished = drain()
        if finished.failure is None:
            raise RunInterrupted(results, list(sources[len(results) :])) from None
    except BaseException:  # ``on_result`` failed: the worker must not go on writing files
        stop.set()
        raise
    if finished.failure is not None:
        if isinstance(finished.failure, KeyboardInterrupt):
            raise RunInterrupted(results, list(sources[len(results) :])) from None
        raise finished.failure


def _ignore_interrupts() -> None:
    """In pool workers: Ctrl-C is the parent's to handle (a worker would print a traceback)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _isolated(source: SourceFile, options: RunOptions) -> FileResult:
    """One file in a process of its own; a process that dies is this file's error."""
    with ProcessPoolExecutor(max_workers=1, initializer=_ignore_interrupts) as pool:
        try:
            [result] = pool.submit(_process_chunk, [source], options).result()
            return result
        except BrokenProcessPool:
            return FileResult(
                source.display,
                error="the worker process died while migrating this file",
            )


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
