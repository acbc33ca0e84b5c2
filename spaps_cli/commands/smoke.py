"""``spaps smoke``: boot the service with its worker for real, once, and say which stage broke.

Thin on purpose: find the service, hand it to :mod:`spaps_cli.fleet.smoke`, print the timings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spaps_cli.commands.options import JsonOption, ServicePythonOption, seconds


def smoke(
    path: Annotated[
        Path,
        typer.Argument(help="The service (or any directory inside it).", show_default=False),
    ] = Path("."),
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Database to migrate and run on (default: a SQLite file in the log directory).",
            show_default=False,
        ),
    ] = None,
    broker_url: Annotated[
        str | None,
        typer.Option(
            "--broker-url",
            help="Celery broker, redis:// or amqp:// (default: the embedded filesystem broker).",
            show_default=False,
        ),
    ] = None,
    result_backend: Annotated[
        str | None,
        typer.Option(
            "--result-backend",
            help="Celery result backend (default: the Redis broker, rpc:// for RabbitMQ, SQLite"
            " for the embedded broker).",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            help="Limit for each stage, in seconds (1 to 86400).",
            callback=seconds("--timeout", minimum=1.0),
        ),
    ] = 60.0,
    python: ServicePythonOption = None,
    logs: Annotated[
        Path | None,
        typer.Option(
            "--logs",
            help="Directory for the logs and embedded data (default: a new temporary one).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Boot the app and a Celery worker for real, check them, stop them.

    Exit 0 when every stage passed, 1 naming the stage that failed (the logs are kept).
    """
    from spaps_cli import console
    from spaps_cli.errors import CheckFailedError, UsageError
    from spaps_cli.fleet.smoke import SmokeOptions, run_smoke
    from spaps_cli.paths import resolve
    from spaps_cli.project import find_project

    project = find_project(path, what="PATH")
    if logs is not None:
        logs = resolve(logs, what="--logs")
        if logs.exists() and not logs.is_dir():
            raise UsageError(f"--logs {logs} is not a directory", hint="pass a directory")
    options = SmokeOptions(
        database_url=database_url,
        broker_url=broker_url,
        result_backend=result_backend,
        timeout=timeout,
        python=python,
        logs=logs,
    )
    report = run_smoke(project, options, on_step=console.step_hook(json_output=json_output))
    if json_output:
        console.emit_json(report.as_json())
    else:
        for stage in report.stages:
            console.status(
                "ok" if stage.ok else "failed",
                f"{stage.name:<13} {stage.seconds:7.2f}s  {stage.detail}",
            )
        if report.error:
            for line in report.error.splitlines()[1:]:
                console.detail(f"    {line}")
        console.info(f"total {report.total_seconds:.2f}s; logs in {report.logs}")
    if report.interrupted is not None:
        stopped = len(report.processes)
        console.error(
            f"smoke {report.error}; stopped the {stopped} process(es) it started"
            f" (logs in {report.logs})"
        )
        raise typer.Exit(report.signal_exit_code or 1)
    if report.leftover_pids:
        raise CheckFailedError(
            f"processes still running after smoke: {', '.join(map(str, report.leftover_pids))}",
            hint=f"kill them; the logs are in {report.logs}",
        )
    if report.escaped_pids:
        raise CheckFailedError(
            f"processes escaped the run's process groups: {', '.join(map(str, report.escaped_pids))}"
            " (killed)",
            hint="a service process must not detach from its parent (setsid, double fork)",
        )
    if report.failed_stage is not None:
        first_line = (report.error or "").splitlines()[0] if report.error else ""
        raise CheckFailedError(
            f"smoke failed at stage '{report.failed_stage}': {first_line}",
            hint=f"see the logs in {report.logs}",
        )


def register(app: typer.Typer) -> None:
    app.command("smoke")(smoke)
