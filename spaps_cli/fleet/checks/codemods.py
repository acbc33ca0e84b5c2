"""Codemods family: what ``spaps migrate --check`` still finds (duplicated runtime code left)."""

from __future__ import annotations

from spaps_cli.fleet.findings import DoctorContext, Finding, check


@check("codemods")
def pending_codemods(context: DoctorContext) -> list[Finding]:
    from spaps_cli.codemods.migration import check_tree

    findings: list[Finding] = []
    for result in check_tree(context.project.root):
        if result.error is not None:
            findings.append(
                Finding(
                    "migrate.unreadable",
                    "error",
                    f"{result.path}: {result.error}",
                    "fix the file so spaps migrate can parse it",
                )
            )
            continue
        if result.changed:
            findings.extend(
                Finding(
                    f"migrate.{codemod}",
                    "warning",
                    f"{result.path}: {count} rewrite(s) by {codemod} pending"
                    " (duplicated runtime code)",
                    "run `spaps migrate` (review first with `spaps migrate --diff`)",
                )
                for codemod, count in result.counts
            )
        findings.extend(
            Finding(
                f"migrate.{item.codemod}",
                "warning",
                f"{item.path}:{item.line}: {item.message}",
                "remove it by hand (see docs/MIGRATION_GUIDE.md), then re-run spaps doctor",
            )
            for item in result.findings
            if not item.auto_fixable
        )
    return findings
