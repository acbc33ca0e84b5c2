"""The end of a run: summary table and manual follow-ups on stderr, or one JSON document.

Follow-ups are the point of the report (what users of codemod tools ask for most): what was
found but cannot be rewritten safely, with file:line and what to do, so ``--check`` in CI says
what is left instead of only failing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from spaps_cli.codemods.base import Finding
from spaps_cli.codemods.runner import FileResult, Mode


@dataclass(frozen=True)
class Summary:
    mode: Mode
    codemods: tuple[str, ...]
    results: tuple[FileResult, ...]
    #: --strict: every unacknowledged follow-up fails --check/--diff, not only deprecated code.
    strict: bool = False

    @property
    def scanned(self) -> int:
        """Every file the run looked at, including the ones that failed."""
        return len(self.results)

    @property
    def parsed(self) -> int:
        return sum(1 for result in self.results if result.parsed)

    @property
    def changed(self) -> list[FileResult]:
        return [result for result in self.results if result.changed]

    @property
    def failed(self) -> list[FileResult]:
        return [result for result in self.results if result.error is not None]

    @property
    def per_codemod(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for result in self.results:
            if result.error is None:
                for codemod, count in result.counts:
                    counts[codemod] += count
        return counts

    @property
    def follow_ups(self) -> list[Finding]:
        return [f for result in self.results for f in result.findings if not f.auto_fixable]

    @property
    def findings(self) -> list[Finding]:
        return [f for result in self.results for f in result.findings]

    @property
    def gating(self) -> list[Finding]:
        """Follow-ups that fail the --check/--diff gate: deprecated code left (or any, if strict)."""
        return [f for f in self.follow_ups if not f.acknowledged and (f.deprecated or self.strict)]

    def exit_code(self) -> int:
        """2 if any file failed; else, under --check/--diff, 1 when a file would change or a
        gating follow-up is left; else 0."""
        if self.failed:
            return 2
        if self.mode is not Mode.WRITE and (self.changed or self.gating):
            return 1
        return 0

    def as_json(self) -> dict[str, object]:
        report: dict[str, object] = {
            "mode": self.mode.value,
            "codemods": list(self.codemods),
            "files": {
                "scanned": self.scanned,
                "parsed": self.parsed,
                "changed": len(self.changed),
                "failed": len(self.failed),
            },
            "per_codemod": {codemod: self.per_codemod.get(codemod, 0) for codemod in self.codemods},
            "changed_files": [result.path for result in self.changed],
            "errors": [{"file": r.path, "message": r.error} for r in self.failed],
            "findings": [finding.as_json() for finding in self.findings],
            "strict": self.strict,
            "gating_follow_ups": len(self.gating),
            "exit_code": self.exit_code(),
        }
        if self.mode is Mode.DIFF:
            report["diffs"] = {result.path: result.diff for result in self.changed}
        return report


def print_summary(summary: Summary) -> None:
    """Rich table + follow-ups + errors on stderr (stdout stays free for diffs)."""
    from rich.table import Table
    from rich.text import Text

    from spaps_cli import console

    verb = {Mode.WRITE: "changed", Mode.CHECK: "would change", Mode.DIFF: "would change"}[
        summary.mode
    ]
    for result in summary.changed:
        console.status("update" if summary.mode is Mode.WRITE else "would update", result.path)
    table = Table(title="spaps migrate", show_header=True, header_style="bold")
    table.add_column("files scanned", justify="right")
    table.add_column(f"files {verb}", justify="right")
    table.add_column("files failed", justify="right")
    table.add_column("follow-ups", justify="right")
    table.add_row(
        str(summary.scanned),
        str(len(summary.changed)),
        str(len(summary.failed)),
        str(len(summary.follow_ups)),
    )
    console.summary(table)
    per = Table(show_header=True, header_style="bold")
    per.add_column("codemod")
    per.add_column("rewrites", justify="right")
    per.add_column("follow-ups", justify="right")
    follow_counts = Counter(finding.codemod for finding in summary.follow_ups)
    for codemod in summary.codemods:
        per.add_row(codemod, str(summary.per_codemod.get(codemod, 0)), str(follow_counts[codemod]))
    console.summary(per)
    if summary.follow_ups:
        console.summary(Text("manual follow-ups", style="bold yellow"))
        gating = {id(finding) for finding in summary.gating}
        for finding in _sorted(summary.follow_ups):
            line = Text(f"  {finding.path}:{finding.line}", style="bold")
            if finding.acknowledged:
                line.append("  acknowledged", style="dim")
            elif id(finding) in gating:
                line.append("  error", style="bold red")
            else:
                line.append("  warning", style="yellow")
            line.append(f" [{finding.codemod}] ", style="cyan")
            line.append(finding.message)
            console.summary(line)
    for result in summary.failed:
        console.error(f"{result.path}: {result.error}")
    if summary.mode is not Mode.WRITE and summary.changed:
        console.info("run 'spaps migrate' without --check/--diff to apply the changes")
    if summary.mode is not Mode.WRITE and summary.gating:
        console.info(
            f"{len(summary.gating)} follow-up(s) fail the gate: fix them, or acknowledge one"
            " with '# spaps: ignore[ID]' on its line or in [tool.spaps.migrate] acknowledge"
        )


def _sorted(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.path, f.line, f.codemod))
