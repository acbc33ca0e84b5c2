"""docs/MIGRATION_GUIDE.md's codemod reference is generated; it must match the codemods."""

from __future__ import annotations

from spaps_cli.codemods.reference import BEGIN, END, GUIDE, reference_markdown, render_guide
from spaps_cli.codemods.registry import CODEMODS


def test_migration_guide_reference_is_up_to_date() -> None:
    current = GUIDE.read_text(encoding="utf-8")
    assert render_guide(current, CODEMODS) == current, (
        "docs/MIGRATION_GUIDE.md is stale: run python -m spaps_cli.codemods.reference"
    )


def test_reference_contains_every_example_verbatim() -> None:
    text = reference_markdown(CODEMODS)
    for codemod in CODEMODS:
        assert f"### `{codemod.ID}`" in text
        for example in codemod.EXAMPLES:
            assert f"```python\n{example.before}```" in text
            assert example.after == example.before or f"```python\n{example.after}```" in text


def test_render_replaces_only_the_generated_section() -> None:
    stale = f"intro\n{BEGIN}\nold text\n{END}\noutro\n"
    rendered = render_guide(stale, CODEMODS[:1])
    assert rendered.startswith(f"intro\n{BEGIN}\n")
    assert rendered.endswith(f"{END}\noutro\n")
    assert "old text" not in rendered
