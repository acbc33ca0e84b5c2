"""Behaviour preservation of on-event-to-lifespan on plain Starlette apps and routers.

Every module in behaviour_corpus/starlette/ is run as written on the last Starlette that still
has ``on_startup=``/``on_event``/``add_event_handler`` (0.x, installed for this test from the
package index into a directory of its own), then as rewritten by the codemod on that same
Starlette and on the installed 1.x, where the event API is gone. Each app (``Starlette`` or a
``Router`` served on its own) is started and stopped with ``with TestClient(app)``: the
startup/shutdown side effects and the responses must be the same, in the same order, including
what happens when a startup handler fails.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from migrate.harness import transform
from spaps_cli.codemods.on_event_to_lifespan import OnEventToLifespan
from spaps_cli.codemods.runner import migrate_source

CORPUS = Path(__file__).parent / "behaviour_corpus" / "starlette"
SHAPES = sorted(CORPUS.glob("st*.py"))
RUNNER = Path(__file__).parent / "starlette_apps.py"
#: The last Starlette release with the event API (1.0.0 removed it).
LAST_WITH_EVENTS = "0.52.1"
#: Shapes the codemod must leave alone: what the follow-up says, and the line it points at
#: (the construct that stops the rewrite).
LEFT_ALONE: dict[str, tuple[tuple[str, int], ...]] = {
    "st12_existing_lifespan": (("already has lifespan=, so Starlette never runs", 16),),
    "st13_conditional_registration": (
        ("conditionally or from a helper", 9),
        ("event handler registration not moved", 19),
    ),
    "st14_handlers_appended_to_router_lists": (("which Starlette would ignore", 16),),
    "st15_kwargs_constructor": (("*args/**kwargs that may carry a lifespan=", 7),),
}


#: ``python -c`` program: put argv[1] (an older Starlette) first on sys.path, then run the runner.
_PREPEND = f"""\
import runpy, sys
sys.path.insert(0, sys.argv.pop(1))
runpy.run_path({str(RUNNER)!r}, run_name="__main__")
"""


def _run(modules: dict[str, str], site: Path | None) -> tuple[str, dict[str, list[str]]]:
    """Run ``modules`` in a fresh interpreter, on the Starlette in ``site`` (else the installed)."""
    argv = [sys.executable, "-I"]
    argv += [str(RUNNER)] if site is None else ["-c", _PREPEND, str(site)]
    completed = subprocess.run(
        argv, input=json.dumps(modules), capture_output=True, text=True, check=False, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    return report["version"], report["results"]


@pytest.fixture(scope="module")
def starlette_0x(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the last Starlette 0.x, and nothing else (its dependencies are ours)."""
    target = tmp_path_factory.mktemp("starlette-0x")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--target",
            str(target),
            f"starlette=={LAST_WITH_EVENTS}",
        ],
        check=True,
        timeout=300,
    )
    return target


@pytest.fixture(scope="module")
def runs(starlette_0x: Path) -> dict[str, dict[str, list[str]]]:
    """Every shape before and after, on 0.x and (after only) on the installed Starlette."""
    before = {path.stem: path.read_text(encoding="utf-8") for path in SHAPES}
    after = {stem: transform(source, OnEventToLifespan)[0] for stem, source in before.items()}
    old_version, before_old = _run(before, starlette_0x)
    assert old_version == LAST_WITH_EVENTS
    _, after_old = _run(after, starlette_0x)
    new_version, after_new = _run(after, None)
    assert int(new_version.split(".")[0]) >= 1, "the installed Starlette is expected to be 1.x"
    return {"before": before_old, "after on 0.x": after_old, "after on 1.x": after_new}


def test_corpus_has_at_least_10_shapes() -> None:
    assert len(SHAPES) >= 10


@pytest.mark.parametrize("path", SHAPES, ids=[p.stem for p in SHAPES])
def test_rewrite_is_proven_or_refused_with_the_blocking_line(path: Path) -> None:
    before = path.read_text(encoding="utf-8")
    after, fixed, follow_ups = transform(before, OnEventToLifespan)
    ast.parse(after)
    assert transform(after, OnEventToLifespan)[0] == after, "a second run changed the file"
    if path.stem in LEFT_ALONE:
        assert after == before
        findings = migrate_source(
            before.encode(), (OnEventToLifespan,), OnEventToLifespan.EXAMPLE_CONFIG
        ).findings
        for reason, line in LEFT_ALONE[path.stem]:
            assert line in [f.line for f in findings if reason in f.message], follow_ups
        return
    assert fixed
    assert not follow_ups
    for gone in ("on_event(", "add_event_handler(", "on_startup=", "on_shutdown="):
        assert gone not in after
    assert "lifespan=" in after
    assert "Starlette) -> AsyncIterator[None]:" in after  # annotated with the app class


@pytest.mark.parametrize("path", SHAPES, ids=[p.stem for p in SHAPES])
def test_same_side_effects_and_responses_on_starlette_0x_and_1x(
    path: Path, runs: dict[str, dict[str, list[str]]]
) -> None:
    expected = runs["before"][path.stem]
    assert any(not event.startswith("--") for event in expected), expected
    assert not any(event.startswith("-- import failed") for event in expected), expected
    assert runs["after on 0.x"][path.stem] == expected
    if path.stem in LEFT_ALONE:
        return  # unchanged, and the event API it still uses is gone from 1.x
    assert runs["after on 1.x"][path.stem] == expected


def test_the_unmigrated_shapes_do_not_even_import_on_the_installed_starlette() -> None:
    """What makes the rewrite necessary: Starlette 1.x removed the event API."""
    migrated = [p for p in SHAPES if p.stem not in LEFT_ALONE]
    _, results = _run({p.stem: p.read_text(encoding="utf-8") for p in migrated}, None)
    failed = {stem for stem, events in results.items() if events[0].startswith("-- import failed")}
    assert failed == {p.stem for p in migrated}, results


def test_rewrites_are_sorted_as_ruff_wants(tmp_path: Path) -> None:
    """``ruff check --select I`` accepts every rewritten shape, as it accepts every original."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff is not None, "ruff is a dev dependency"
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    for path in SHAPES:
        source = path.read_text(encoding="utf-8")
        (tmp_path / f"{path.stem}__before.py").write_text(source)
        (tmp_path / f"{path.stem}__after.py").write_text(transform(source, OnEventToLifespan)[0])
    result = subprocess.run(
        [ruff, "check", "--select", "I", "--no-cache", "--output-format", "json", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(result.stdout) == []
