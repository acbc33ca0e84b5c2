"""``spaps add domain`` against copier rendering the same domain files into the same service.

    python bench/add_domain.py [--rounds 15] [--warmup 2] [--json] [--check]

One service is generated with ``spaps new service`` (not timed). The bench turns the domain
starter ``spaps add domain billing`` picks into a copier template (``copier_template.py``: the
same files and Jinja, copier.yml answering exactly what spaps renders with, the migration slot
included) and checks once that copier writes the same files, byte for byte, as spaps.

Each round then makes fresh copies of the service and times, as whole processes through
``process_timing``, and in alternating order:

- ``spaps add domain billing``: the domain's files, the edit of ``api/registry.py`` and the
  tomlkit edit of ``[tool.spaps]``. On the generated registry the registry edit is two lines
  placed with ``ast`` (``spaps_cli/generators/registry_lines.py``), libcst is not imported;
- ``copier copy`` of the same files into the other copy: the rendering alone, no edits;
- for context, the same ``spaps add domain billing`` on a third copy whose registry mentions
  ``billing`` in a comment, which sends the registry edit down the libcst path (the cost of a
  hand-edited registry); the bench checks once that each registry takes the path it says;
- the start-up floor every spaps command pays, ``spaps add domain --help``, for context.

The figure is the median of the per-round ratios copier/spaps (generated registry); target: at
least 1.5 (spaps doing more, the edits, and still faster). ``--check`` exits 1 when it is
missed.
"""

from __future__ import annotations

import re
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from copier_template import build_copier_template
from process_timing import PeerRace, race_main, timed_run

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5
SPAPS = [sys.executable, "-c", "from spaps_cli.app import main; main()"]
COPIER = str(Path(sys.executable).parent / "copier")
SERVICE = "bench-api"
DOMAIN = "billing"
SPAPS_LABEL = "spaps add domain"
COPIER_LABEL = "copier copy"
LIBCST_LABEL = "spaps add domain, libcst path"
FLOOR = "start-up floor"

_TIMESTAMP = re.compile(rb"\d{12}")


def domain_template(service: Path, root: Path) -> Path:
    """The starter spaps would render for DOMAIN in ``service``, as a copier template."""
    from spaps_cli.generators.domain import render_context, renders
    from spaps_cli.generators.starters import choose_starter
    from spaps_cli.generators.templates_location import template_tree
    from spaps_cli.project import find_project

    project = find_project(service)
    starter = choose_starter(DOMAIN, None)
    answers = render_context(project, DOMAIN, starter, now=datetime.now(UTC))
    celery = bool(answers["celery"])
    return build_copier_template(
        template_tree(f"domain/{starter.name}"),
        root / "copier-domain",
        answers,
        rendered=lambda relative: renders(PurePosixPath(relative), celery=celery),
    )


def run_spaps(service: Path) -> float:
    return timed_run([*SPAPS, "add", "domain", DOMAIN], cwd=service).seconds


def force_libcst_path(service: Path) -> None:
    """A registry the line edit leaves to libcst: it mentions the domain (a comment will do)."""
    registry = service / "src" / SERVICE.replace("-", "_") / "api" / "registry.py"
    registry.write_text(registry.read_text() + f"# {DOMAIN}: register it once it exists\n")


def check_paths(line_edit: Path, libcst_edit: Path) -> None:
    """The figures are labelled by path: make sure each copy's registry takes the one it says."""
    from spaps_cli.generators.registry_edit import REGISTRY_FUNCTION, RouterRegistration
    from spaps_cli.generators.registry_lines import insert_by_lines

    package = SERVICE.replace("-", "_")
    for service, expected in ((line_edit, True), (libcst_edit, False)):
        source = (service / "src" / package / "api" / "registry.py").read_text()
        answered = insert_by_lines(
            source,
            RouterRegistration.for_domain(package, DOMAIN),
            function_name=REGISTRY_FUNCTION,
            registry_module=f"{package}.api.registry",
            line_length=88,
        )
        if (answered is not None) != expected:
            path = "the line edit" if expected else "libcst"
            raise SystemExit(f"{service.name}: the registry edit no longer takes {path}")


def run_copier(template: Path, service: Path) -> float:
    argv = [COPIER, "copy", "--defaults", "--overwrite", "--quiet", str(template), str(service)]
    return timed_run(argv).seconds


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file, the clock-dependent migration timestamp masked in names and contents."""
    return {
        _TIMESTAMP.sub(b"<ts>", p.relative_to(root).as_posix().encode()).decode(): _TIMESTAMP.sub(
            b"<ts>", p.read_bytes()
        )
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def check_same_files(pristine: Path, template: Path, scratch: Path) -> list[str]:
    """Render once with each tool; the domain files must match. Returns spaps' extra edits."""
    by_spaps, by_copier = scratch / "check-spaps", scratch / "check-copier"
    shutil.copytree(pristine, by_spaps)
    shutil.copytree(pristine, by_copier)
    run_spaps(by_spaps)
    run_copier(template, by_copier)
    before, after_spaps, after_copier = (
        snapshot(pristine),
        snapshot(by_spaps),
        snapshot(by_copier),
    )
    added_by_spaps = {path for path in after_spaps if path not in before}
    added_by_copier = {path for path in after_copier if path not in before}
    if added_by_copier != added_by_spaps:
        raise SystemExit(f"copier wrote other files: {sorted(added_by_copier ^ added_by_spaps)}")
    differing = [path for path in added_by_spaps if after_spaps[path] != after_copier[path]]
    if differing:
        raise SystemExit(f"copier rendered these differently: {sorted(differing)}")
    if any(after_copier[path] != before[path] for path in before):
        raise SystemExit("copier changed a file of the service")
    edited = sorted(path for path in before if after_spaps[path] != before[path])
    shutil.rmtree(by_spaps)
    shutil.rmtree(by_copier)
    return edited


def measure(rounds: int, warmup: int) -> Result:
    samples: dict[str, list[float]] = {
        SPAPS_LABEL: [],
        COPIER_LABEL: [],
        LIBCST_LABEL: [],
        FLOOR: [],
    }
    ratios: list[float] = []
    with tempfile.TemporaryDirectory(prefix="spaps-bench-") as temp:
        scratch = Path(temp)
        timed_run([*SPAPS, "new", "service", SERVICE], cwd=scratch)
        pristine = scratch / SERVICE
        mentions_domain = scratch / f"{SERVICE}-libcst"
        shutil.copytree(pristine, mentions_domain)
        force_libcst_path(mentions_domain)
        check_paths(pristine, mentions_domain)
        template = domain_template(pristine, scratch)
        edited = check_same_files(pristine, template, scratch)
        files = len(list(template.rglob("*.jinja")))
        for index in range(warmup + rounds):
            for_spaps, for_copier = scratch / f"spaps-{index}", scratch / f"copier-{index}"
            for_libcst = scratch / f"libcst-{index}"
            shutil.copytree(pristine, for_spaps)
            shutil.copytree(pristine, for_copier)
            shutil.copytree(mentions_domain, for_libcst)
            measured: dict[str, float] = {}
            if index % 2:
                measured[COPIER_LABEL] = run_copier(template, for_copier)
                measured[SPAPS_LABEL] = run_spaps(for_spaps)
            else:
                measured[SPAPS_LABEL] = run_spaps(for_spaps)
                measured[COPIER_LABEL] = run_copier(template, for_copier)
            measured[LIBCST_LABEL] = run_spaps(for_libcst)
            measured[FLOOR] = timed_run([*SPAPS, "add", "domain", "--help"]).seconds
            shutil.rmtree(for_spaps)
            shutil.rmtree(for_copier)
            shutil.rmtree(for_libcst)
            if index < warmup:
                continue
            for label, seconds in measured.items():
                samples[label].append(seconds)
            ratios.append(measured[COPIER_LABEL] / measured[SPAPS_LABEL])
    return Result(
        rounds=rounds,
        figures={label: statistics.median(values) for label, values in samples.items()},
        ratios=ratios,
        target=TARGET_RATIO,
        files=files,
        edited=edited,
    )


@dataclass
class Result(PeerRace):
    files: int = 0
    edited: list[str] = field(default_factory=list)  # what spaps edits besides rendering

    def as_json(self) -> dict[str, object]:
        return {**self.race_json(), "files": self.files, "spaps_also_edits": self.edited}

    def report(self) -> None:
        heading = (
            f"median wall time of {self.rounds} rounds, whole processes; {self.files} domain"
            f" files rendered by both, spaps also edits {', '.join(self.edited)}:"
        )
        rows = {
            SPAPS_LABEL: f"spaps add domain {DOMAIN}",
            COPIER_LABEL: "copier copy (the same files)",
            LIBCST_LABEL: f"spaps add domain {DOMAIN}, libcst edit",
            FLOOR: f"{FLOOR}: spaps add domain --help",
        }
        self.print_race(heading, rows, SPAPS_LABEL)


def main() -> int:
    return race_main(__doc__.splitlines()[0], default_rounds=15, copier=COPIER, measure=measure)


if __name__ == "__main__":
    raise SystemExit(main())
