"""Nothing in the repository points readers at notes they cannot see."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Paths to notes kept outside the repository, and the ways docstrings used to cite them.
OUTSIDE = re.compile(
    r"shared/notes|/work/shared|\.\./shared|notes/[a-z]+\.md|\bnotes section\b|\bnotes c\d",
    re.IGNORECASE,
)


def test_no_file_cites_notes_outside_the_repository() -> None:
    # The suite runs in a git checkout (CI clones the repository): what git tracks is the project.
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    offenders = []
    for name in listed.decode().split("\0"):
        path = ROOT / name
        if (
            not name
            or not path.is_file()
            or path.suffix not in {".py", ".md", ".toml", ".j2", ".txt"}
        ):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
            if OUTSIDE.search(line) and path != Path(__file__).resolve():
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
