"""``spaps migrate --diff`` prints a patch ``git apply`` accepts, whatever the file looks like."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from spaps_cli.app import run
from spaps_cli.codemods.on_event_to_lifespan import OnEventToLifespan
from spaps_cli.codemods.runner import unified_diff

APP = OnEventToLifespan.EXAMPLES[0].before


def git(repo: Path, *argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-c", "core.autocrlf=false", *argv],
        cwd=repo,
        input=stdin,
        capture_output=True,
        check=False,
    )


def repository(root: Path, files: dict[str, bytes]) -> Path:
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "1"\ndependencies = ["fastapi>=0.115"]\n'
    )
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert git(root, "init", "-q").returncode == 0
    return root


SHAPES = {
    "no final newline": APP.rstrip("\n").encode(),
    "crlf": APP.replace("\n", "\r\n").encode(),
    "crlf without a final newline": APP.rstrip("\n").replace("\n", "\r\n").encode(),
    "form feed and a unicode line separator in a string": (
        APP.replace('app = FastAPI(title="orders")', 'app = FastAPI(title="or\u2028ders")')
        + "\x0c\n# page two\n"
    ).encode(),
}


@pytest.mark.parametrize("data", SHAPES.values(), ids=SHAPES.keys())
def test_diff_applies_with_git_and_gives_what_a_write_gives(
    data: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    diffed = repository(tmp_path / "diffed", {"svc/main.py": data})
    written = repository(tmp_path / "written", {"svc/main.py": data})
    monkeypatch.chdir(diffed)
    capsysbinary.readouterr()
    assert run(["migrate", "--diff"]) == 1
    patch = capsysbinary.readouterr().out
    assert patch
    checked = git(diffed, "apply", "--check", "-", stdin=patch)
    assert checked.returncode == 0, checked.stderr.decode()
    assert git(diffed, "apply", "-", stdin=patch).returncode == 0
    monkeypatch.chdir(written)
    assert run(["migrate"]) == 0
    after = (written / "svc" / "main.py").read_bytes()
    assert after != data
    assert (diffed / "svc" / "main.py").read_bytes() == after


@pytest.mark.parametrize("final_newline", [True, False])
def test_new_and_removed_files_are_valid_patches(tmp_path: Path, final_newline: bool) -> None:
    data = APP.encode() if final_newline else APP.rstrip("\n").encode()
    repo = repository(tmp_path / "repo", {"svc/old.py": data})
    removed = unified_diff("svc/old.py", data, None)
    created = unified_diff("svc/new.py", None, data)
    for patch in (removed, created):
        checked = git(repo, "apply", "--check", "-", stdin=patch.encode())
        assert checked.returncode == 0, checked.stderr.decode()
    assert git(repo, "apply", "-", stdin=(removed + created).encode()).returncode == 0
    assert not (repo / "svc" / "old.py").exists()
    assert (repo / "svc" / "new.py").read_bytes() == data
