"""Reading a file the generators edit, and writing the edit back in the file's own conventions.

A Windows checkout (``core.autocrlf``) holds ``registry.py``, ``pyproject.toml`` and
``tasks.py`` with CRLF line endings, and some editors start files with a UTF-8 byte order mark.
The edits (libcst, tomlkit) work on plain LF text without a BOM; :func:`read_source` gives them
that, and :meth:`SourceText.restore` puts the file's line endings and BOM back, so an edit
changes only what it means to change and a re-run that changes nothing compares ``identical``
byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from spaps_cli.errors import UsageError

BOM = "\ufeff"


@dataclass(frozen=True)
class SourceText:
    """A file's text as LF without BOM (``text``), and how the file itself spells it."""

    original: str  # the decoded file, exactly as on disk (BOM and CRLF included)
    text: str
    newline: str
    bom: bool

    @classmethod
    def parse(cls, original: str) -> SourceText:
        body = original.removeprefix(BOM)
        # The first line ending decides, like editors do; LF for a file that has none.
        first = body.find("\n")
        newline = "\r\n" if first > 0 and body[first - 1] == "\r" else "\n"
        return cls(
            original=original,
            text=body.replace("\r\n", "\n"),
            newline=newline,
            bom=original.startswith(BOM),
        )

    def restore(self, edited: str) -> str:
        """``edited`` (LF, no BOM) in the file's conventions; the original if nothing changed."""
        if edited == self.text:
            return self.original
        return (BOM if self.bom else "") + edited.replace("\n", self.newline)


def read_source(
    path: Path, *, display: str, hint: str | None = None, within: Path | None = None
) -> SourceText:
    """Read ``path`` as UTF-8 for editing; a missing or undecodable file is a usage error.

    ``within`` (the service's root): a symlink loop, or a link to a file outside it, is
    refused instead of followed.
    """
    from spaps_cli.paths import existing_file

    try:
        real = existing_file(path, what=display, within=within)
        if real is None:
            raise FileNotFoundError(path)
        data = real.read_bytes()
    except FileNotFoundError as exc:
        raise UsageError(f"{display} does not exist", hint=hint) from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{display} is a directory, expected a file", hint=hint) from exc
    except OSError as exc:
        raise UsageError(f"cannot read {display}: {exc.strerror or exc}", hint=hint) from exc
    try:
        return SourceText.parse(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{display} is not UTF-8 text", hint="save it as UTF-8") from exc
