"""``spaps release bump|check``: parse options, call spaps_cli.release, print through console.

Only Typer is imported at module level; tomlkit, packaging and httpx load inside the engines
when a release command actually runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn

import typer

from spaps_cli.commands.options import JsonOption, complete_bump_target, seconds

if TYPE_CHECKING:
    from spaps_cli.release.outcome import ReleaseReport

#: ``--pre`` values: spaps_cli.release.version.PrePhase, spelt out so that parsing the command
#: line does not import the release engine (a test keeps the two equal).
PreChoice = Literal["a", "b", "rc"]

release_app = typer.Typer(
    name="release",
    help="Bump versions and gate publishing: never backwards, never guessing about the index.",
    no_args_is_help=True,
)

PackageOption = Annotated[
    str | None,
    typer.Option(
        "--package",
        help="Distribution directory (e.g. 'runtime') or its pyproject.toml; default: nearest.",
    ),
]
OfflineOption = Annotated[
    bool, typer.Option("--offline", help="Do not ask the package index (local checks only).")
]
IndexOption = Annotated[
    str | None,
    typer.Option(
        "--index",
        help="Index URL, or 'pypi'/'testpypi'. A URL ending in /simple uses the Simple JSON API.",
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        help="Seconds to wait for the index before UNVERIFIABLE.",
        callback=seconds("--timeout"),
    ),
]
StrictOption = Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")]
SeriesOption = Annotated[
    str | None,
    typer.Option(
        "--series",
        metavar="MAJOR.MINOR",
        help="Maintenance series (e.g. 1.1): compare and bump within it. "
        "Overrides [tool.spaps.release] series.",
    ),
]


@release_app.command("bump")
def bump(
    target: Annotated[
        str,
        typer.Argument(
            # no braces: Typer puts a required argument's metavar in braces itself
            metavar="major|minor|patch|prerelease|VERSION",
            autocompletion=complete_bump_target,
            help="A bump kind, or an explicit PEP 440 version (1.2.4-rc.1 is written 1.2.4rc1).",
        ),
    ],
    pre: Annotated[
        PreChoice | None,
        typer.Option("--pre", help="Make the result a pre-release of this phase."),
    ] = None,
    dev: Annotated[bool, typer.Option("--dev", help="Make the result a .devN release.")] = False,
    package: PackageOption = None,
    date: Annotated[
        str | None,
        typer.Option("--date", metavar="YYYY-MM-DD", help="Release date for the changelog."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and diffs; write nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Allow a version not newer than max(local, published), or an unreadable index.",
        ),
    ] = False,
    offline: OfflineOption = False,
    index: IndexOption = None,
    timeout: TimeoutOption = 10.0,
    json_output: JsonOption = False,
    strict: StrictOption = False,
    commit: Annotated[
        bool, typer.Option("--commit", help="git commit the changed files (clean tree only).")
    ] = False,
    tag: Annotated[
        bool, typer.Option("--tag", help="git tag the release commit (needs --commit).")
    ] = False,
    series: SeriesOption = None,
) -> None:
    """Bump the version in pyproject.toml, __version__ and CHANGELOG.md, together or not at all."""
    from spaps_cli import console
    from spaps_cli.release.bump import BumpRequest, run_bump
    from spaps_cli.release.outcome import IndexUnverifiableError
    from spaps_cli.release.version import PrePhase

    request = BumpRequest(
        target=target,
        package=package,
        pre=None if pre is None else PrePhase(pre),
        dev=dev,
        date=date,
        dry_run=dry_run,
        force=force,
        offline=offline,
        index=index,
        timeout=timeout,
        strict=strict,
        commit=commit,
        tag=tag,
        series=series,
        cwd=Path.cwd(),
        on_step=console.step_hook(json_output=json_output),
    )
    try:
        outcome = run_bump(request)
    except IndexUnverifiableError as exc:
        _fail(exc.message, exc.hint, exc.release_exit_code)
    _report(outcome, json_output=json_output)


@release_app.command("check")
def check(
    package: PackageOption = None,
    offline: OfflineOption = False,
    index: IndexOption = None,
    timeout: TimeoutOption = 10.0,
    tag_prefix: Annotated[
        str | None,
        typer.Option("--tag-prefix", help="Override [tool.spaps.release] tag-prefix."),
    ] = None,
    json_output: JsonOption = False,
    strict: StrictOption = False,
    series: SeriesOption = None,
) -> None:
    """Check version consistency and compare with the index; the exit code is the outcome.

    0 AHEAD (or OFFLINE), 10 NOT_PUBLISHED, 11 ALREADY_PUBLISHED, 12 BEHIND, 13 UNVERIFIABLE,
    14 MAINTENANCE (newest of its declared series), 1 a local consistency problem, 2 bad input.
    """
    from spaps_cli import console
    from spaps_cli.release.check import CheckRequest, run_check

    report = run_check(
        CheckRequest(
            package=package,
            offline=offline,
            index=index,
            timeout=timeout,
            tag_prefix=tag_prefix,
            strict=strict,
            series=series,
            cwd=Path.cwd(),
            on_step=console.step_hook(json_output=json_output),
        )
    )
    _report(report, json_output=json_output)
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.add_typer(release_app, name="release")


def _fail(message: str, hint: str | None, code: int) -> NoReturn:
    from spaps_cli import console

    console.error(message)
    if hint:
        console.detail(f"hint: {hint}")
    raise typer.Exit(code)


def _report(report: ReleaseReport, *, json_output: bool) -> None:
    """The one layout of ``release bump`` and ``release check`` output.

    Status lines on stderr: the headline, what the index said, details, warnings, problems, the
    files (diffs on stdout on a dry run), closing status lines, the verdict. With ``--json``
    the same facts go to stdout as one document instead of the diffs.
    """
    from spaps_cli import console

    console.info(report.headline)
    lookup = report.lookup
    if lookup.highest is not None:
        console.detail(
            f"  index: highest {lookup.highest}, highest final {lookup.highest_final} "
            f"({lookup.url})"
        )
    elif lookup.reason:
        console.detail(f"  index: {lookup.reason} ({lookup.url})")
    for detail in report.details:
        console.detail(f"  {detail}")
    for warning in report.warnings:
        console.warning(warning)
    for problem in report.problems:
        console.error(problem)
    for change in report.files:
        console.status(change.shown, change.path)
        if change.diff is not None and not json_output:
            console.print_diff(change.diff)
    for label, value in report.closing:
        console.status(label, value)
    if report.verdict is not None:
        console.info(report.verdict)
    if json_output:
        console.emit_json(report.as_json())
