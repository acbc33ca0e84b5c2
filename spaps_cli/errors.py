"""Every user-facing failure is a typed error with a one-line message and a documented exit code.

Commands raise these; ``spaps_cli.app`` turns them into a red line on stderr and the exit code.
Nothing else in the CLI calls ``sys.exit``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in docs/CLI.md."""

    OK = 0
    CHECK_FAILED = 1  # --check found changes, doctor found problems
    USAGE = 2  # bad argument, bad name, bad or missing input file
    CONFLICT = 3  # a file exists and neither --force nor --skip was given
    FILE_ACCESS = 4  # a file could not be read or written
    INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + the signal's number, as shells report it


class SpapsError(Exception):
    """Base of every error the CLI reports without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(
        self, message: str, *, hint: str | None = None, details: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: Lines printed under the message (every bad character of a name, files left to do).
        self.details = details or []

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class UsageError(SpapsError):
    """The command line or an input file is wrong; the user must change it."""


class InvalidNameError(UsageError):
    """A service, domain or task name failed validation; ``details`` holds every problem."""

    def __init__(self, message: str, *, details: list[str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint, details=details)


class ProjectNotFoundError(UsageError):
    """The command needs a service made by ``spaps new service`` and none was found."""


class ConflictError(SpapsError):
    exit_code = ExitCode.CONFLICT


class FileAccessError(SpapsError):
    exit_code = ExitCode.FILE_ACCESS


class CheckFailedError(SpapsError):
    exit_code = ExitCode.CHECK_FAILED


class InterruptedByUser(SpapsError):
    """Ctrl-C: the message says what the command had done by then (docs/CLI.md, per command)."""

    exit_code = ExitCode.INTERRUPTED
