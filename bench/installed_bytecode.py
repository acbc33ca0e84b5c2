"""Time spaps the way an installed copy runs: from bytecode.

pip compiles every module of a wheel when it installs it, so a user's ``spaps`` never compiles
Python source. An editable checkout gets its ``.pyc`` files only when Python may write them, and
``PYTHONDONTWRITEBYTECODE=1`` (``.ci/run`` sets it, and so may a shell) stops that: every timed
process then compiles each spaps module it imports from source. Counted with callgrind on
2026-12-03 that is 116M of the 760M instructions of ``spaps new service`` (15%), a cost no
user pays and none of the baselines pays either (copier, cookiecutter, Typer and libcst are
installed by pip, with their bytecode). So each bench that starts ``spaps`` processes calls
:func:`compile_spaps` before it times anything.
"""

from __future__ import annotations

import compileall
import importlib.util


def compile_spaps() -> None:
    """Write the ``.pyc`` files of the installed ``spaps_cli`` (a no-op when they are current).

    ``compileall`` writes them whatever ``PYTHONDONTWRITEBYTECODE`` says, as pip does.
    """
    spec = importlib.util.find_spec("spaps_cli")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("spaps_cli is not installed in this environment: pip install -e . first")
    for location in spec.submodule_search_locations:
        if not compileall.compile_dir(location, quiet=1):
            raise SystemExit(f"could not compile {location} to bytecode")
