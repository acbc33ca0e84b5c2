"""Text conflicts in Python that are not conflicts in the code: imports and registrations."""

from __future__ import annotations

from spaps_cli.update.python_merge import resolve_python
from spaps_cli.update.text_merge import (
    Conflict,
    Labels,
    merge_regions,
    merge_regions_python,
    render_regions,
)

LABELS = Labels(base="template 1", theirs="template 2")

BASE = """from __future__ import annotations

from fastapi import FastAPI

from shop.api.meta import router as meta_router


def register_routers(app: FastAPI) -> None:
    app.include_router(meta_router)
"""

# the team registered a router by hand (no spaps add domain), at the same places
OURS = """from __future__ import annotations

from fastapi import FastAPI

from shop.api.meta import router as meta_router
from shop.webhooks import router as webhooks_router


def register_routers(app: FastAPI) -> None:
    app.include_router(meta_router)
    app.include_router(webhooks_router)
"""

THEIRS = """from __future__ import annotations

from fastapi import FastAPI

from shop.api.meta import router as meta_router
from shop.api.status import router as status_router


def register_routers(app: FastAPI) -> None:
    app.include_router(meta_router)
    app.include_router(status_router)
"""

MERGED = """from __future__ import annotations

from fastapi import FastAPI

from shop.api.meta import router as meta_router
from shop.api.status import router as status_router
from shop.webhooks import router as webhooks_router


def register_routers(app: FastAPI) -> None:
    app.include_router(meta_router)
    app.include_router(webhooks_router)
    app.include_router(status_router)
"""


def _merge(base: str, ours: str, theirs: str) -> str:
    regions = merge_regions(base, ours, theirs)
    return render_regions(resolve_python(regions, first_party=("shop",)), LABELS)


def test_text_merge_alone_conflicts() -> None:
    regions = merge_regions(BASE, OURS, THEIRS)
    assert sum(isinstance(region, Conflict) for region in regions) == 2


def test_without_git_the_python_merge_gives_the_same_regions() -> None:
    ours = OURS.replace("meta_router)", 'meta_router, prefix="/v1")')
    for case in [(BASE, OURS, THEIRS), (BASE, ours, THEIRS), (BASE, THEIRS, THEIRS)]:
        assert merge_regions_python(*case) == merge_regions(*case)


def test_imports_and_registrations_merge_at_the_code_level() -> None:
    assert _merge(BASE, OURS, THEIRS) == MERGED


def test_same_addition_on_both_sides_is_kept_once() -> None:
    assert _merge(BASE, THEIRS, THEIRS) == THEIRS


def test_import_the_template_dropped_goes_when_unused() -> None:
    theirs = THEIRS.replace("from fastapi import FastAPI\n", "from typing import Any\n").replace(
        "app: FastAPI", "app: Any"
    )
    ours = OURS.replace("from fastapi import FastAPI\n", "from fastapi import FastAPI\nimport os\n")
    merged = _merge(BASE, ours, theirs)
    assert "<<<<<<<" not in merged
    assert "from fastapi import FastAPI" not in merged  # unused once the template's change is in
    assert "import os\n" in merged
    assert "from typing import Any\n" in merged
    assert "def register_routers(app: Any) -> None:" in merged
    compile(merged, "registry.py", "exec")


def test_a_changed_call_is_a_real_conflict() -> None:
    ours = OURS.replace(
        "app.include_router(meta_router)", 'app.include_router(meta_router, prefix="/v1")'
    )
    theirs = THEIRS.replace(
        "app.include_router(meta_router)", 'app.include_router(meta_router, prefix="/m")'
    )
    merged = _merge(BASE, ours, theirs)
    # the registration conflict stays, and so does the import one: nothing of either side lost
    assert merged.count("<<<<<<< yours") == 2
    assert "from shop.api.status import router as status_router" in merged
    assert 'prefix="/v1"' in merged
    assert 'prefix="/m"' in merged
