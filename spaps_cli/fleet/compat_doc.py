"""Render ``docs/COMPATIBILITY.md`` from the matrix file, so the document cannot drift from it.

Regenerate with ``python -m spaps_cli.fleet.compat_doc docs/COMPATIBILITY.md``;
``tests/fleet/test_compat.py`` fails when the committed document differs from this output.
"""

from __future__ import annotations

import sys
from pathlib import Path

from spaps_cli.fleet.compat import (
    CLIENT_DISTRIBUTION,
    RUNTIME_DISTRIBUTION,
    CompatibilityMatrix,
    format_range,
    load_matrix,
)

_MARKS = {"supported": "yes", "deprecated": "deprecated", "unsupported": "no"}


def render_markdown(matrix: CompatibilityMatrix) -> str:
    lines = [
        "# Compatibility",
        "",
        "<!-- Generated from spaps_cli/compat/matrix.toml by"
        " `python -m spaps_cli.fleet.compat_doc docs/COMPATIBILITY.md`. Do not edit by hand. -->",
        "",
        f"Which `{RUNTIME_DISTRIBUTION}` (runtime) versions a service may run on, by the"
        " template version it was generated from (`template-version` in its `[tool.spaps]`"
        " table). `spaps doctor` checks the installed and the pinned runtime against the same"
        " data.",
        "",
        "## Matrix",
        "",
    ]
    templates = matrix.template_versions()
    header = "| runtime | " + " | ".join(f"template {t}" for t in templates) + " |"
    lines += [header, "|---|" + "---|" * len(templates)]
    for runtime in matrix.runtimes:
        cells = []
        for template in templates:
            spec = matrix.runtime_range(template)
            inside = spec is not None and spec.contains(runtime.version, prereleases=True)
            cells.append(_MARKS[runtime.status] if inside else "no")
        lines.append(f"| {runtime.version} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## CLI releases",
        "",
        "| CLI | released | template version | runtime range | notes |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {cli.version} | {cli.released} | {cli.template_version} | `{format_range(cli.runtime)}` | {cli.notes} |"
        for cli in matrix.clis
    ]
    lines += [
        "",
        "## Runtime releases",
        "",
        f"| runtime | released | Python | `{CLIENT_DISTRIBUTION}` client | status | notes |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {runtime.version} | {runtime.released} | `{runtime.python}`"
        f" | `{format_range(runtime.client) or 'any'}` | {runtime.status} | {runtime.notes} |"
        for runtime in matrix.runtimes
    ]
    lines += [
        "",
        "## Reading it",
        "",
        "- **yes**: tested together; `spaps doctor` is clean.",
        "- **deprecated**: still works; `spaps doctor` reports a warning finding (exit 1) so CI"
        " asks for the upgrade.",
        "- **no**: outside the range the template was released for, or a runtime that is no"
        " longer supported; `spaps doctor` fails.",
        "- A runtime release inside a template's range that this table does not list yet (a"
        " release newer than the CLI) is a `runtime.unknown` warning naming the range; it does"
        " not fail `spaps doctor` (upgrading the CLI brings the new row).",
        "- A service's pin (`spaps-server-quickstart>=…,<…` in its `pyproject.toml`) must allow"
        " at least one supported runtime and nothing outside the template's range.",
        f"- The `{CLIENT_DISTRIBUTION}` client column is the range of the official SPAPS client"
        " each runtime release was tested with (the runtime's own pin of it); `spaps doctor`"
        " fails (`runtime.client-unsupported`) when the client installed next to the runtime is"
        " outside it.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render_markdown(load_matrix())
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
