"""The progress hook: how an engine says "this step is slow" without knowing who is listening.

Engines (smoke, doctor, the index lookup) take a :data:`StepHook` and wrap each slow step in
``with on_step("migrate"):``; the command passes :func:`spaps_cli.console.step_hook`, which draws a
spinner on a terminal, and tests pass a recorder. The engines stay free of Rich and of the
command line: the default does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

#: Called with a short description when a slow step starts; the step ends when its context does.
StepHook = Callable[[str], AbstractContextManager[object]]


def no_progress(description: str) -> AbstractContextManager[object]:
    """The default hook: nobody is watching."""
    return nullcontext()
