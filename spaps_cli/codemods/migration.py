"""One ``spaps migrate`` run: config, codemod selection, discovery, the pool, the report.

This is what the Typer command calls; it returns the exit code rather than exiting so tests
can call it in-process.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from spaps_cli.codemods.config import load_config
from spaps_cli.codemods.registry import select_codemods
from spaps_cli.codemods.report import Summary, print_summary
from spaps_cli.codemods.runner import (
    FileResult,
    Mode,
    RunInterrupted,
    RunOptions,
    SourceFile,
    default_jobs,
    discover,
    run,
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
    options = RunOptions(Mode.CHECK, tuple(codemod.ID for codemod in codemods), config)
    found = discover([root], config.exclude, root)
    return [*found.errors, *run(found.files, options, jobs=default_jobs())]


def run_migration(
    *,
    paths: Sequence[Path],
    check: bool = False,
    diff: bool = False,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    list_only: bool = False,
    json_output: bool = False,
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
    options = RunOptions(mode, tuple(codemod.ID for codemod in codemods), config)
    found = discover(list(paths), (*config.exclude, *exclude), Path.cwd())
    results: list[FileResult] = list(found.errors)
    show_progress = (
        not json_output and console.stderr.is_terminal and len(found.files) >= PROGRESS_THRESHOLD
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
    summary = Summary(mode, options.codemod_ids, tuple(results))
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
