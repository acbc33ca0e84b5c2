"""The generated Dockerfile read as instructions, shared by the static toolchain test and the
end-to-end test that executes the recipe (tests/e2e/test_image_recipe.py): both must see the
same instructions, or one of them checks a Dockerfile the other never read.
"""

from __future__ import annotations

from pathlib import Path


def dockerfile_instructions(service: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in (service / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        pending += stripped.removesuffix("\\").strip() + " "
        if not stripped.endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    assert not pending, "a continuation line ends the Dockerfile"
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]
