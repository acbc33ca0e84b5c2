"""The runner: walking, the byte pre-filter, bad input, atomic writes, the process pool."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.on_event_to_lifespan import OnEventToLifespan
from spaps_cli.codemods.registry import CODEMODS
from spaps_cli.codemods.runner import (
    MAX_FILE_BYTES,
    Mode,
    RunOptions,
    discover,
    process_file,
    run,
)

APP = OnEventToLifespan.EXAMPLES[0].before
APP_AFTER = OnEventToLifespan.EXAMPLES[0].after
OPTIONS = RunOptions(Mode.WRITE, tuple(c.ID for c in CODEMODS), MigrateConfig())


def _run_tree(root: Path, mode: Mode = Mode.WRITE, jobs: int = 1) -> dict[str, str | None]:
    found = discover([root], (), root)
    options = RunOptions(mode, OPTIONS.codemod_ids, OPTIONS.config)
    results = [*found.errors, *run(found.files, options, jobs=jobs)]
    return {result.path: result.error for result in results}


def test_discovery_skips_virtualenvs_build_dirs_and_gitignored(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("generated/\n*_pb2.py\n")
    for relative in [
        "src/app.py",
        "src/models_pb2.py",
        "generated/client.py",
        ".venv/lib/site.py",
        "venv/x.py",
        "node_modules/pkg/x.py",
        "build/lib/app.py",
        "dist/app.py",
        ".tox/py311/x.py",
        "custom-env/lib/x.py",
        "src/__pycache__/app.py",
        "src/stubs.pyi",
        "README.md",
    ]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    (tmp_path / "custom-env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "src" / "nested").mkdir()
    (tmp_path / "src" / "nested" / ".gitignore").write_text("local_*.py\n")
    (tmp_path / "src" / "nested" / "local_scratch.py").write_text("x = 1\n")
    (tmp_path / "src" / "nested" / "kept.py").write_text("x = 1\n")
    found = discover([tmp_path], (), tmp_path)
    assert sorted(f.display for f in found.files) == [
        "src/app.py",
        "src/nested/kept.py",
        "src/stubs.pyi",
    ]
    excluded = discover([tmp_path], ("src/nested/*", "*.pyi"), tmp_path)
    assert sorted(f.display for f in excluded.files) == ["src/app.py"]


def test_explicit_files_are_taken_even_if_ignored(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("app.py\n")
    (tmp_path / "app.py").write_text(APP)
    found = discover([tmp_path / "app.py"], (), tmp_path)
    assert [f.display for f in found.files] == ["app.py"]


@contextlib.contextmanager
def _immutable(path: Path) -> Iterator[None]:
    """chattr +i: even root cannot write there (permission bits do not stop root)."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)
        return
    if shutil.which("chattr") is None:
        pytest.fail("chattr is needed to make a directory unwritable for root")
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_bad_files_are_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "good.py").write_text(APP)
    (tmp_path / "py2.py").write_text('@app.on_event("startup")\ndef f():\n    print "python 2"\n')
    (tmp_path / "broken.py").write_text('app.on_event("startup"\n')
    (tmp_path / "latin1.py").write_bytes(b'# on_event\nname = "caf\xe9"\n')
    (tmp_path / "binary.py").write_bytes(b"\x7fELF\x00\x00on_event")
    (tmp_path / "empty.py").write_bytes(b"")
    (tmp_path / "huge.py").write_bytes(b"x = 1\n" * (MAX_FILE_BYTES // 6 + 10))
    (tmp_path / "loop_a.py").symlink_to(tmp_path / "loop_b.py")
    (tmp_path / "loop_b.py").symlink_to(tmp_path / "loop_a.py")
    (tmp_path / "dangling.py").symlink_to(tmp_path / "missing.py")
    (tmp_path / "unreadable.py").symlink_to("/proc/self/mem")  # EIO on read, even for root
    (tmp_path / "directory.py").mkdir()
    errors = _run_tree(tmp_path)
    assert errors["good.py"] is None
    assert errors["empty.py"] is None
    assert "syntax error" in (errors["py2.py"] or "")
    assert "syntax error" in (errors["broken.py"] or "")
    assert "not UTF-8" in (errors["latin1.py"] or "")
    assert "binary" in (errors["binary.py"] or "")
    assert "too large" in (errors["huge.py"] or "")
    assert "symlink loop" in (errors["loop_a.py"] or "")
    assert "symlink loop" in (errors["loop_b.py"] or "")
    assert errors["dangling.py"] is not None
    assert "cannot read" in (errors["unreadable.py"] or "")
    assert (tmp_path / "good.py").read_text() == APP_AFTER
    assert (tmp_path / "py2.py").read_text().endswith('print "python 2"\n')


def test_declared_encoding_is_accepted_and_kept(tmp_path: Path) -> None:
    source = '# -*- coding: latin-1 -*-\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.on_event("startup")\ndef f():\n    print("caf\xe9")\n'
    path = tmp_path / "app.py"
    path.write_bytes(source.encode("latin-1"))
    assert _run_tree(tmp_path) == {"app.py": None}
    data = path.read_bytes()
    assert b"caf\xe9" in data
    assert b"lifespan=lifespan" in data


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param(
            'from fastapi import FastAPI\napp = FastAPI()\n\n@app.on_event("startup")\n'
            "async def s()\n    pass\n",
            "syntax error at line 5: expected ':'",
            id="missing colon",
        ),
        pytest.param(
            'from fastapi import FastAPI\n\napp = FastAPI(title="x"\n\n\n'
            '@app.on_event("startup")\nasync def s():\n    pass\n',
            "syntax error at line 3: '(' was never closed",
            id="unclosed call",
        ),
    ],
)
def test_syntax_errors_name_the_line_to_fix(tmp_path: Path, source: str, message: str) -> None:
    (tmp_path / "app.py").write_text(source)
    assert _run_tree(tmp_path) == {"app.py": message}


def test_diff_uses_the_declared_encoding(tmp_path: Path) -> None:
    source = '# -*- coding: latin-1 -*-\nfrom fastapi import FastAPI\n\napp = FastAPI(title="caf\xe9")\n\n\n@app.on_event("startup")\ndef f():\n    pass\n'
    (tmp_path / "app.py").write_bytes(source.encode("latin-1"))
    found = discover([tmp_path], (), tmp_path)
    options = RunOptions(Mode.DIFF, OPTIONS.codemod_ids, OPTIONS.config)
    [result] = run(found.files, options, jobs=1)
    assert '+app = FastAPI(title="caf\xe9", lifespan=lifespan)' in result.diff
    assert "\ufffd" not in result.diff


def test_unwritable_file_is_an_error_and_left_whole(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "app.py").write_text(APP)
    (tmp_path / "ok.py").write_text(APP)
    with _immutable(folder):
        errors = _run_tree(tmp_path)
        assert "cannot write" in (errors["ro/app.py"] or "")
        assert (folder / "app.py").read_text() == APP
        assert sorted(p.name for p in folder.iterdir()) == ["app.py"]  # no temp file left
    assert errors["ok.py"] is None
    assert (tmp_path / "ok.py").read_text() == APP_AFTER


def test_write_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "manage.py"
    path.write_text(APP)
    path.chmod(0o751)
    _run_tree(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert path.read_text() == APP_AFTER


def test_check_and_diff_modes_write_nothing(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text(APP)
    for mode in (Mode.CHECK, Mode.DIFF):
        found = discover([tmp_path], (), tmp_path)
        options = RunOptions(mode, OPTIONS.codemod_ids, OPTIONS.config)
        [result] = run(found.files, options, jobs=1)
        assert result.changed
        assert path.read_text() == APP
        assert bool(result.diff) is (mode is Mode.DIFF)
    assert "+@asynccontextmanager" in result.diff


def test_files_without_needles_are_not_parsed(tmp_path: Path) -> None:
    path = tmp_path / "plain.py"
    path.write_text("def broken(:\n")  # would not parse; the pre-filter never looks
    result = process_file(discover([path], (), tmp_path).files[0], OPTIONS)
    assert result.error is None
    assert not result.parsed


def test_pool_gives_the_same_results_as_one_process(tmp_path: Path) -> None:
    for index in range(240):
        body = APP if index % 10 == 0 else f"VALUE_{index} = {index}\n"
        (tmp_path / f"m{index:03}.py").write_text(body)
    (tmp_path / "bad.py").write_text('app.on_event("startup"\n')
    serial_root = tmp_path.parent / f"{tmp_path.name}-serial"
    shutil.copytree(tmp_path, serial_root)
    pooled = _run_tree(tmp_path, Mode.WRITE, jobs=2)
    serial = _run_tree(serial_root, Mode.WRITE, jobs=1)
    assert pooled == serial
    assert sum(1 for error in pooled.values() if error) == 1
    for path in tmp_path.glob("*.py"):
        assert path.read_bytes() == (serial_root / path.name).read_bytes()
