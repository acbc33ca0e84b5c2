"""Three-way text merge of one file, as regions: merged text and the conflicts left in it.

``git merge-file`` does the merging when git is on PATH (it needs no repository, only files;
its diff3 output, with the base section, is parsed into :class:`Conflict` regions); without git,
the ``merge3`` library (the pure-Python 3-way merge maintained by the Breezy project) gives the
same regions. Either way the Python merger can resolve some conflicts before markers are written.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from spaps_cli.errors import FileAccessError

OURS_LABEL = "yours"


@dataclass(frozen=True)
class Conflict:
    """One region both sides changed differently (each side's lines, with line endings)."""

    ours: str
    base: str
    theirs: str


Region = str | Conflict


@dataclass(frozen=True)
class Labels:
    """The names written after the markers: the service's side and the two template versions."""

    base: str
    theirs: str


def merge_regions(base: str, ours: str, theirs: str) -> list[Region]:
    """The merge as a list of clean text and :class:`Conflict` regions, in file order."""
    git = shutil.which("git")
    if git is None:
        return merge_regions_python(base, ours, theirs)
    with tempfile.TemporaryDirectory(prefix="spaps-merge-") as scratch:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(scratch) / name
            path.write_bytes(text.encode("utf-8"))
            paths.append(str(path))
        completed = subprocess.run(
            [git, "merge-file", "-p", "--diff3", "-L", "o", "-L", "b", "-L", "t", *paths],
            capture_output=True,  # bytes: text mode would turn a CRLF file's lines into LF
            check=False,
        )
    if completed.returncode < 0 or completed.returncode > 127:
        message = completed.stderr.decode("utf-8", "replace").strip()
        raise FileAccessError(f"git merge-file failed: {message}")
    return _parse(completed.stdout.decode("utf-8"))


def merge_regions_python(base: str, ours: str, theirs: str) -> list[Region]:
    """The same regions as :func:`merge_regions`, computed in Python (no git needed)."""
    import merge3

    lines = [text.splitlines(keepends=True) for text in (base, ours, theirs)]
    base_lines, ours_lines, theirs_lines = lines
    regions: list[Region] = []
    for kind, *bounds in merge3.Merge3(base_lines, ours_lines, theirs_lines).merge_regions():
        if kind == "unchanged":
            text = "".join(base_lines[bounds[0] : bounds[1]])
        elif kind in {"a", "same"}:
            text = "".join(ours_lines[bounds[0] : bounds[1]])
        elif kind == "b":
            text = "".join(theirs_lines[bounds[0] : bounds[1]])
        else:
            base_start, base_end, ours_start, ours_end, theirs_start, theirs_end = bounds
            regions.append(
                Conflict(
                    ours="".join(ours_lines[ours_start:ours_end]),
                    base="".join(base_lines[base_start:base_end]),
                    theirs="".join(theirs_lines[theirs_start:theirs_end]),
                )
            )
            continue
        if regions and isinstance(regions[-1], str):
            regions[-1] += text
        else:
            regions.append(text)
    return regions


def _parse(output: str) -> list[Region]:
    regions: list[Region] = []
    clean: list[str] = []
    sides: dict[str, list[str]] = {}
    current: str | None = None
    for line in output.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if current is None and bare == "<<<<<<< o":
            if clean:
                regions.append("".join(clean))
                clean = []
            sides = {"o": [], "b": [], "t": []}
            current = "o"
        elif current == "o" and bare == "||||||| b":
            current = "b"
        elif current == "b" and bare == "=======":
            current = "t"
        elif current == "t" and bare == ">>>>>>> t":
            regions.append(Conflict(*("".join(sides[key]) for key in ("o", "b", "t"))))
            current = None
        elif current is None:
            clean.append(line)
        else:
            sides[current].append(line)
    if clean:
        regions.append("".join(clean))
    return regions


def render_regions(regions: list[Region], labels: Labels) -> str:
    """The merged text, with diff3-style conflict markers around each conflict left."""
    parts: list[str] = []
    for region in regions:
        if isinstance(region, str):
            parts.append(region)
            continue
        parts.append(f"<<<<<<< {OURS_LABEL}\n")
        parts.append(_terminated(region.ours))
        parts.append(f"||||||| {labels.base}\n")
        parts.append(_terminated(region.base))
        parts.append("=======\n")
        parts.append(_terminated(region.theirs))
        parts.append(f">>>>>>> {labels.theirs}\n")
    return "".join(parts)


def _terminated(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def conflict_lines(text: str) -> list[int]:
    """1-based line numbers of every ``<<<<<<<`` marker in ``text``."""
    return [
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if line.startswith(f"<<<<<<< {OURS_LABEL}")
    ]
