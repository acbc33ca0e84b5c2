"""The codemod reference, generated from the codemods' own examples.

``spaps migrate --list`` prints it on the terminal; ``python -m spaps_cli.codemods.reference``
rewrites the generated section of docs/MIGRATION_GUIDE.md, and a test fails when the file is
stale, so the guide can never drift from what the codemods really do.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spaps_cli.codemods.base import Codemod

if TYPE_CHECKING:
    from rich.syntax import Syntax

BEGIN = "<!-- BEGIN GENERATED CODEMOD REFERENCE (python -m spaps_cli.codemods.reference) -->"
END = "<!-- END GENERATED CODEMOD REFERENCE -->"
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "MIGRATION_GUIDE.md"


def _first_paragraph(codemod: type[Codemod]) -> str:
    module = sys.modules[codemod.__module__]
    doc = (module.__doc__ or "").strip()
    paragraphs = doc.split("\n\n")
    return (
        " ".join(line.strip() for line in paragraphs[1].splitlines()) if len(paragraphs) > 1 else ""
    )


def reference_markdown(codemods: Sequence[type[Codemod]]) -> str:
    """Markdown for every codemod: id, summary, why, needles, each example as before/after."""
    parts: list[str] = []
    for codemod in codemods:
        parts.append(f"### `{codemod.ID}`\n")
        parts.append(f"{codemod.SUMMARY}\n")
        why = _first_paragraph(codemod)
        if why:
            parts.append(f"{why}\n")
        needles = (
            ", ".join(f"`{n.decode()}`" for n in codemod.NEEDLES) or "the configured module names"
        )
        parts.append(f"Pre-filter (a file is parsed only if it contains one of): {needles}.\n")
        if codemod.PREFLIGHT is not None:
            parts.append(
                f"Preflight requirement: `{codemod.PREFLIGHT}` (see [Preflight](#preflight-what-the-project-can-run)).\n"
            )
        for example in codemod.EXAMPLES:
            parts.append(f"**Example: {example.title}**\n")
            parts.append("Before:\n")
            parts.append(f"```python\n{example.before}```\n")
            if example.after == example.before:
                parts.append("After: unchanged; reported as a manual follow-up.\n")
            else:
                parts.append("After:\n")
                parts.append(f"```python\n{example.after}```\n")
    return "\n".join(parts)


def render_guide(current: str, codemods: Sequence[type[Codemod]]) -> str:
    """``current`` with the text between the markers replaced by the generated reference."""
    start = current.index(BEGIN) + len(BEGIN)
    end = current.index(END)
    return current[:start] + "\n\n" + reference_markdown(codemods) + "\n" + current[end:]


def print_codemod_list(codemods: Sequence[type[Codemod]], *, json_output: bool) -> None:
    from spaps_cli import console

    if json_output:
        console.emit_json(
            [
                {
                    "id": codemod.ID,
                    "summary": codemod.SUMMARY,
                    "needles": [needle.decode() for needle in codemod.NEEDLES],
                    "preflight": codemod.PREFLIGHT,
                    "examples": [
                        {"title": e.title, "before": e.before, "after": e.after}
                        for e in codemod.EXAMPLES
                    ],
                }
                for codemod in codemods
            ]
        )
        return
    out = console.stdout
    if not out.is_terminal:
        # Piped or redirected: plain text, whole lines. Rich would wrap or crop the examples
        # at its default 80 columns.
        sys.stdout.write("".join(_plain_entry(codemod) for codemod in codemods))
        return
    from rich.syntax import Syntax
    from rich.text import Text

    for codemod in codemods:
        out.print(Text(codemod.ID, style="bold cyan"), Text(f"  {codemod.SUMMARY}"))
        out.print(Text(f"  preflight: {codemod.PREFLIGHT or 'none'}", style="dim"))
        example = codemod.EXAMPLES[0]
        out.print(Text(f"  example: {example.title}", style="dim"))
        out.print(Text("  before:", style="red"))
        out.print(_syntax(Syntax, example.before))
        out.print(Text("  after:", style="green"))
        if example.after == example.before:
            out.print(Text("    unchanged; reported as a manual follow-up", style="dim"))
        else:
            out.print(_syntax(Syntax, example.after))
        out.print()


def _syntax(syntax: type[Syntax], code: str) -> Syntax:
    """Highlighted code that wraps long lines on a narrow terminal instead of cropping them."""
    return syntax(code, "python", theme="ansi_dark", padding=(0, 4), word_wrap=True)


def _plain_entry(codemod: type[Codemod]) -> str:
    example = codemod.EXAMPLES[0]
    lines = [
        f"{codemod.ID}  {codemod.SUMMARY}",
        f"  preflight: {codemod.PREFLIGHT or 'none'}",
        f"  example: {example.title}",
        "  before:",
        *_indented(example.before),
        "  after:",
        *(
            ["    unchanged; reported as a manual follow-up"]
            if example.after == example.before
            else _indented(example.after)
        ),
        "",
    ]
    return "\n".join(lines) + "\n"


def _indented(code: str) -> list[str]:
    return [f"    {line}" if line else "" for line in code.splitlines()]


def main() -> int:
    from spaps_cli.codemods.registry import CODEMODS

    check = "--check" in sys.argv[1:]
    current = GUIDE.read_text(encoding="utf-8")
    rendered = render_guide(current, CODEMODS)
    if check:
        if rendered != current:
            print(f"{GUIDE} is stale: run python -m spaps_cli.codemods.reference", file=sys.stderr)
            return 1
        return 0
    if rendered != current:
        GUIDE.write_text(rendered, encoding="utf-8")
        print(f"updated {GUIDE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
