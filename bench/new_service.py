"""``spaps new service`` against copier and cookiecutter rendering the same tree.

    python bench/new_service.py [--rounds 11] [--json]

The bench builds the copier and cookiecutter templates on the fly, in a temporary directory,
from ``templates/service`` itself (same files, same Jinja, same answers: only each tool's
variable syntax differs), checks once that all three produce the same file list, then times the
three commands as separate processes, interleaved round by round (rotating the order) into
fresh destinations, and compares medians. Target: spaps at least 2x faster than copier. Exit
code 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import copier_template
from copier_template import plain_filters
from process_timing import compile_spaps, timed_run

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "templates" / "service"
BIN = Path(sys.executable).parent
TARGET_SPEEDUP_OVER_COPIER = 2.0

NAME = "billing-api"
PACKAGE = "billing_api"
DESCRIPTION = "A SPAPS service."


def _answers() -> dict[str, object]:
    """The answers spaps computes from NAME: its own template context, so the two never drift."""
    from spaps_cli.generators.service import ServiceAnswers, service_context
    from spaps_cli.names import service_name

    answers = ServiceAnswers.build(service_name(NAME), description=DESCRIPTION)
    from spaps_cli.generators.wheelhouse import service_wheels

    # spaps draws the service id and the local secret at random; every tool gets these.
    return service_context(
        answers,
        created="202601010000",
        service_id="0123abcd",
        initial_revision="202601010000_0123abcd_core",
        local_auth_secret="bench-local-auth-secret",
        wheels=service_wheels(),
    )


ANSWERS: dict[str, object] = _answers()


def _not_rendered(relative: str) -> bool:
    """Template files spaps leaves out for these answers (the other tools render every file)."""
    from pathlib import PurePosixPath

    from spaps_cli.generators.service import CELERY_ONLY, PGVECTOR_ONLY

    path = PurePosixPath(relative)
    return (path in CELERY_ONLY and not ANSWERS["celery"]) or (
        path in PGVECTOR_ONLY and not ANSWERS["pgvector"]
    )


def build_copier_template(root: Path) -> Path:
    """templates/service as a copier template: the same files plus a copier.yml."""
    template = copier_template.build_copier_template(
        TEMPLATE,
        root / "copier-template",
        ANSWERS,
        rendered=lambda relative: not _not_rendered(relative),
    )
    _add_wheels(template)
    return template


def _add_wheels(project: Path) -> list[str]:
    """The runtime and CLI wheels spaps packs into wheels/: the other tools copy the same bytes."""
    from spaps_cli.generators.wheelhouse import service_wheels

    written = []
    for wheel in service_wheels():
        target = project / wheel.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(wheel.content)
        written.append(wheel.path)
    return written


def _cookiecutter_syntax(text: str) -> str:
    names = "|".join(sorted(ANSWERS, key=len, reverse=True))
    variable = re.compile(rf"(?<![\w.])({names})\b")

    def qualify(match: re.Match[str]) -> str:
        return variable.sub(r"cookiecutter.\1", match.group(0))

    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}", qualify, text, flags=re.S)


def build_cookiecutter_template(root: Path) -> Path:
    """templates/service as a cookiecutter template: {{cookiecutter.*}} names, no suffix."""
    template = root / "cookiecutter-template"
    project = template / "{{cookiecutter.service}}"
    verbatim: list[str] = []
    for source in sorted(TEMPLATE.rglob("*")):
        if source.is_dir():
            continue
        relative = source.relative_to(TEMPLATE).as_posix()
        if _not_rendered(relative):
            continue
        relative = _cookiecutter_syntax(relative)
        if relative.endswith(".jinja"):
            target = project / relative[: -len(".jinja")]
            content = _cookiecutter_syntax(plain_filters(source.read_text()))
        else:
            target = project / relative
            content = source.read_text()
            verbatim.append(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    verbatim += _add_wheels(project)
    context: dict[str, object] = dict(ANSWERS)
    context["_copy_without_render"] = verbatim
    context["_jinja2_env_vars"] = {"trim_blocks": True, "lstrip_blocks": True}
    (template / "cookiecutter.json").write_text(json.dumps(context, indent=2))
    return template


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise SystemExit(f"{path} not found: pip install -e '.[dev]' (copier, cookiecutter)")
    return str(path)


def runners(
    copier_template: Path, cookiecutter_template: Path
) -> dict[str, Callable[[Path], Path]]:
    """name -> run(destination_parent) returning the generated service directory."""

    def spaps(parent: Path) -> Path:
        target = parent / NAME
        _run([tool("spaps"), "new", "service", NAME, "--dir", str(target)])
        return target

    def copier(parent: Path) -> Path:
        target = parent / NAME
        _run(
            [
                tool("copier"),
                "copy",
                "--defaults",
                "--trust",
                "--quiet",
                str(copier_template),
                str(target),
            ]
        )
        return target

    def cookiecutter(parent: Path) -> Path:
        _run(
            [
                tool("cookiecutter"),
                "--no-input",
                "--output-dir",
                str(parent),
                str(cookiecutter_template),
            ]
        )
        return parent / NAME

    return {"spaps": spaps, "copier": copier, "cookiecutter": cookiecutter}


def _run(argv: list[str]) -> None:
    timed_run(argv, limit=120)


def file_list(root: Path) -> set[str]:
    """Relative paths, with the migration timestamp (which spaps takes from the clock) masked."""
    return {
        re.sub(r"\d{12}", "<timestamp>", p.relative_to(root).as_posix())
        for p in root.rglob("*")
        if p.is_file()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    compile_spaps()

    with tempfile.TemporaryDirectory(prefix="spaps-bench-") as scratch:
        root = Path(scratch)
        tools = runners(build_copier_template(root), build_cookiecutter_template(root))
        names = list(tools)

        # Same tree from all three, or the comparison means nothing.
        trees = {name: file_list(run(root / f"check-{name}")) for name, run in tools.items()}
        reference = trees["spaps"]
        for name, files in trees.items():
            if files != reference:
                raise SystemExit(f"{name} rendered a different tree: {sorted(files ^ reference)}")

        times: dict[str, list[float]] = {name: [] for name in names}
        paired: list[float] = []
        for round_index in range(options.warmup + options.rounds):
            shift = round_index % len(names)
            order = names[shift:] + names[:shift]
            measured: dict[str, float] = {}
            for name in order:
                parent = root / f"round-{round_index}-{name}"
                parent.mkdir()
                started = time.perf_counter()
                tools[name](parent)
                measured[name] = time.perf_counter() - started
                shutil.rmtree(parent)
            if round_index >= options.warmup:
                for name in names:
                    times[name].append(measured[name])
                paired.append(measured["copier"] / measured["spaps"])

    medians = {name: statistics.median(values) for name, values in times.items()}
    speedup = medians["copier"] / medians["spaps"]
    result = {
        "files": len(reference),
        "rounds": options.rounds,
        "median_seconds": {name: round(value, 4) for name, value in medians.items()},
        "copier_over_spaps": round(speedup, 2),
        "copier_over_spaps_paired_median": round(statistics.median(paired), 2),
        "cookiecutter_over_spaps": round(medians["cookiecutter"] / medians["spaps"], 2),
        "target_copier_over_spaps": TARGET_SPEEDUP_OVER_COPIER,
        "met": speedup >= TARGET_SPEEDUP_OVER_COPIER,
    }
    if options.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(reference)} files, {options.rounds} interleaved rounds, median wall time:")
        for name in names:
            print(f"  {name:<13} {medians[name] * 1000:7.1f} ms")
        print(
            f"  copier / spaps = {speedup:.2f}x (paired median"
            f" {result['copier_over_spaps_paired_median']:.2f}x),"
            f" cookiecutter / spaps = {result['cookiecutter_over_spaps']:.2f}x;"
            f" target >= {TARGET_SPEEDUP_OVER_COPIER}x over copier:"
            f" {'met' if result['met'] else 'MISSED'}"
        )
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
