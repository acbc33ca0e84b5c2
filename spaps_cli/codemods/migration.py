"""One ``spaps migrate`` run: config, codemod selection, discovery, the pool, the report.

This is what the Typer command calls; it returns the exit code rather than exiting so tests
can call it in-process.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from spaps_cli.codemods.base import Codemod, Finding
from spaps_cli.codemods.config import MigrateConfig, load_config
from spaps_cli.codemods.registry import select_codemods
from spaps_cli.codemods.report import Summary, print_summary
from spaps_cli.codemods.runner import (
    FileResult,
    Mode,
    RunInterrupted,
    RunOptions,
    SourceFile,
    acknowledged_in_config,
    default_jobs,
    discover,
    display_path,
    run,
    scan_project,
)
from spaps_cli.errors import InterruptedByUser, UsageError

#: Show a progress bar only for trees at least this large, and only on a terminal.
PROGRESS_THRESHOLD = 300


def check_tree(root: Path) -> list[FileResult]:
    """Every configured codemod in check mode over ``root``: what ``spaps doctor`` reports.

    The same config, selection, discovery and runner as ``spaps migrate --check``, so doctor and
    the migrate gate in CI can never disagree.
    """
    config = load_config(root)
    codemods = select_codemods(config.select, config.ignore)
    found = discover([root], config.exclude, root)
    config, codemods, blocked = preflight(root, config, codemods, found.files, root)
    options = RunOptions(
        Mode.CHECK,
        tuple(codemod.ID for codemod in codemods),
        config,
        scan_project(found.files, config.settings_class),
    )
    return [*found.errors, *blocked, *run(found.files, options, jobs=default_jobs())]


def preflight(
    start: Path,
    config: MigrateConfig,
    codemods: Sequence[type[Codemod]],
    files: Sequence[SourceFile],
    base: Path,
) -> tuple[MigrateConfig, tuple[type[Codemod], ...], list[FileResult]]:
    """Read the project's versions; drop the codemods whose requirement it cannot meet.

    Each unmet requirement becomes one follow-up on the declaration to upgrade, reported only
    when some file has something the dropped codemods are about (their byte needles).
    """
    from spaps_cli.codemods import preflight as checks

    root = checks.project_root(start)
    versions = checks.read_versions(root)
    config = replace(config, versions=versions)
    blocked = checks.check(versions, {codemod.ID: codemod.PREFLIGHT for codemod in codemods})
    if not blocked:
        return config, tuple(codemods), []
    dropped = {codemod_id for item in blocked for codemod_id in item.codemods}
    kept = tuple(codemod for codemod in codemods if codemod.ID not in dropped)
    results: list[FileResult] = []
    for item in blocked:
        about = [codemod for codemod in codemods if codemod.ID in item.codemods]
        if not any(_mentions(source, about, config) for source in files):
            continue
        display = display_path(root / item.source, base)
        finding = Finding(
            "preflight",
            display,
            item.line,
            item.message,
            False,
            deprecated=item.need == "lifespan",  # on_event/add_event_handler stay in the code
        )
        results.append(
            FileResult(display, findings=acknowledged_in_config((finding,), config.acknowledge))
        )
    return config, kept, results


def _mentions(source: SourceFile, codemods: Sequence[type[Codemod]], config: MigrateConfig) -> bool:
    try:
        data = source.path.read_bytes()
    except OSError:
        return False
    return any(codemod.wants(data, config) for codemod in codemods)


def _project_files(
    paths: Sequence[Path], files: list[SourceFile], exclude: Sequence[str]
) -> list[SourceFile]:
    """The files the project scan reads: the whole project, tests included.

    Migrating ``app/`` alone must still see ``tests/`` importing a name from a module it
    rewrites, so the scan covers the nearest directory holding ``pyproject.toml`` (or ``.git``)
    above the paths, when there is one.
    """
    start = (paths[0] if paths else Path(".")).resolve()
    for directory in (start, *start.parents):
        if (directory / "pyproject.toml").is_file() or (directory / ".git").exists():
            if all(directory in (p.resolve(), *p.resolve().parents) for p in paths):
                return discover([directory], exclude, directory).files
            break
    return files


def run_migration(
    *,
    paths: Sequence[Path],
    check: bool = False,
    diff: bool = False,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    list_only: bool = False,
    json_output: bool = False,
    strict: bool = False,
    jobs: int | None = None,
    exclude: Sequence[str] = (),
) -> int:
    from spaps_cli import console

    if check and diff:
        raise UsageError("--check and --diff cannot be combined", hint="pick one")
    config = load_config(paths[0] if paths else Path("."))
    codemods = select_codemods(select or config.select, (*config.ignore, *ignore))
    if list_only:
        from spaps_cli.codemods.reference import print_codemod_list

        print_codemod_list(codemods, json_output=json_output)
        return 0
    mode = Mode.CHECK if check else Mode.DIFF if diff else Mode.WRITE
    found = discover(list(paths), (*config.exclude, *exclude), Path.cwd())
    config, codemods, blocked = preflight(
        paths[0] if paths else Path("."), config, codemods, found.files, Path.cwd()
    )
    options = RunOptions(
        mode,
        tuple(codemod.ID for codemod in codemods),
        config,
        scan_project(
            _project_files(paths, found.files, (*config.exclude, *exclude)), config.settings_class
        ),
    )
    console.debug(
        f"codemods: {', '.join(options.codemod_ids)}; {len(found.files)} file(s) to scan;"
        f" config: {config.source or 'defaults'}"
    )
    results: list[FileResult] = [*found.errors, *blocked]
    show_progress = (
        not json_output and console.live_allowed() and len(found.files) >= PROGRESS_THRESHOLD
    )
    try:
        if show_progress:
            from rich.progress import Progress

            with Progress(console=console.stderr, transient=True) as progress:
                task = progress.add_task("migrating", total=len(found.files))
                results.extend(
                    run(
                        found.files,
                        options,
                        jobs=jobs or default_jobs(),
                        on_result=lambda _result: progress.advance(task),
                    )
                )
        else:
            results.extend(run(found.files, options, jobs=jobs or default_jobs()))
    except RunInterrupted as stopped:
        raise _interrupted(
            options, results + stopped.results, stopped.remaining, json_output
        ) from None
    summary = Summary(mode, options.codemod_ids, tuple(results), strict=strict)
    if mode is Mode.DIFF and not json_output:
        for result in results:
            console.print_diff(result.diff)
    if json_output:
        console.emit_json(summary.as_json())
    else:
        print_summary(summary)
    sys.stdout.flush()
    return summary.exit_code()


def _interrupted(
    options: RunOptions, results: list[FileResult], remaining: list[SourceFile], json_output: bool
) -> InterruptedByUser:
    """Ctrl-C: which files were written (each write is atomic) and which were never looked at."""
    mode = options.mode
    from spaps_cli import console

    written = [r.path for r in results if r.changed and r.error is None and mode is Mode.WRITE]
    left = [source.display for source in remaining]
    if json_output:
        report = Summary(mode, options.codemod_ids, tuple(results)).as_json()
        report.update(interrupted=True, written=written, remaining=left)
        console.emit_json(report)
    else:
        for path in written:
            console.status("update", path)
    done = (
        f"{len(written)} file(s) migrated and written" if mode is Mode.WRITE else "nothing written"
    )
    return InterruptedByUser(
        f"interrupted (Ctrl-C): {done}, {len(results)} of {len(results) + len(left)} looked at;"
        f" {len(left)} not migrated yet",
        details=[f"  not migrated: {path}" for path in left],
        hint="run the same spaps migrate again to finish: migrated files are left as they are",
    )
