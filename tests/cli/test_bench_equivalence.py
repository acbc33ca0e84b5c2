"""bench/new_service.py compares like with like: copier and cookiecutter render the same tree.

Not timed: this only keeps the bench's on-the-fly templates in step with templates/service.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> Iterator[ModuleType]:
    # The benches import their shared modules as siblings, as `python bench/x.py` lets them.
    sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location(
        "bench_new_service", REPO / "bench" / "new_service.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(REPO / "bench"))
        sys.modules.pop(spec.name, None)


def contents(root: Path) -> dict[str, str]:
    """Every file, with the clock-dependent migration timestamp and the random service id
    (``[tool.spaps] service-id``, part of the revision ids) masked; wheels by digest."""
    pyproject = (root / "pyproject.toml").read_text()
    recorded = re.search(r'^service-id = "([0-9a-f]{8})"$', pyproject, re.MULTILINE)
    service_id = recorded.group(1) if recorded else "0123abcd"

    def masked(text: str) -> str:
        text = re.sub(r"AUTH_LOCAL_SECRET=\S+", "AUTH_LOCAL_SECRET=<secret>", text)
        return re.sub(
            r"\d{12}", "<ts>", text.replace(service_id, "<id>").replace("0123abcd", "<id>")
        )

    return {
        masked(p.relative_to(root).as_posix()): (
            hashlib.sha256(p.read_bytes()).hexdigest()
            if p.suffix == ".whl"
            else masked(p.read_text())
        )
        for p in root.rglob("*")
        if p.is_file()
    }


def test_copier_and_cookiecutter_render_what_spaps_renders(
    bench: ModuleType, tmp_path: Path
) -> None:
    tools = bench.runners(
        bench.build_copier_template(tmp_path), bench.build_cookiecutter_template(tmp_path)
    )
    rendered = {}
    for name, run in tools.items():
        parent = tmp_path / f"out-{name}"
        parent.mkdir()
        rendered[name] = contents(run(parent))

    spaps = rendered["spaps"]
    assert len(spaps) == 35  # 33 rendered files and the two wheels
    for name in ("copier", "cookiecutter"):
        other = rendered[name]
        assert set(other) == set(spaps), name
        # Only pyproject.toml differs: spaps fills [tool.spaps] with tomlkit afterwards.
        differing = sorted(path for path in spaps if spaps[path] != other[path])
        assert differing == ["pyproject.toml"], (name, differing)
