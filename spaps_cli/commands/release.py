"""``spaps release bump|check``: parse options, call spaps_cli.release, print through console.

Only Typer is imported at module level; tomlkit, packaging and httpx load inside the engines
when a release command actually runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer

from spaps_cli.commands.options import JsonOption, complete_bump_target, seconds

if TYPE_CHECKING:
    from spaps_cli.release.bump import BumpOutcome
    from spaps_cli.release.check import CheckReport

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
    _report_bump(outcome, json_output=json_output)


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
    _report_check(report, json_output=json_output)
    raise typer.Exit(report.exit_code)


def register(app: typer.Typer) -> None:
    app.add_typer(release_app, name="release")


def _fail(message: str, hint: str | None, code: int) -> NoReturn:
    from spaps_cli import console

    console.error(message)
    if hint:
        console.detail(f"hint: {hint}")
    raise typer.Exit(code)


def _report_bump(outcome: BumpOutcome, *, json_output: bool) -> None:
    from spaps_cli import console
    from spaps_cli.plan import Action

    verb = "would bump" if outcome.dry_run else "bumped"
    console.info(
        f"{verb} {outcome.package.name} {outcome.old} -> {outcome.new} (tag {outcome.tag})"
    )
    for note in outcome.result.notes:
        if not note.startswith("--force"):
            console.detail(f"  {note}")
    for warning in outcome.warnings:
        console.warning(warning)
    rows: list[dict[str, Any]] = []
    for resolution in outcome.resolutions:
        name = resolution.file.relative_to(outcome.plan.root)
        action = resolution.action.value
        console.status(
            f"would {action}" if outcome.dry_run and resolution.action.writes else action, name
        )
        row: dict[str, Any] = {"path": name, "action": action}
        if outcome.dry_run and resolution.action in {Action.UPDATE, Action.FORCE}:
            diff = resolution.diff(outcome.plan.root)
            if json_output:
                row["diff"] = diff
            else:
                console.print_diff(diff)
        rows.append(row)
    if outcome.commit:
        console.status("commit", outcome.commit[:12])
    if outcome.tagged:
        console.status("tag", outcome.tag)
    if json_output:
        console.emit_json(outcome.as_json(rows))


def _report_check(report: CheckReport, *, json_output: bool) -> None:
    from spaps_cli import console

    if json_output:
        console.emit_json(report.as_json())
    console.info(f"{report.name} {report.local} (tag {report.tag or '-'})")
    published = report.lookup.highest
    if published is not None:
        console.detail(
            f"  index: highest {published}, highest final {report.lookup.highest_final} "
            f"({report.lookup.url})"
        )
    elif report.lookup.reason:
        console.detail(f"  index: {report.lookup.reason} ({report.lookup.url})")
    for warning in report.warnings:
        console.warning(warning)
    for problem in report.problems:
        console.error(problem)
    outcome = report.outcome.value if report.outcome is not None else "-"
    console.info(f"outcome {outcome}: {report.reason}, exit {report.exit_code}")
