"""``spaps migrate`` end to end: exit codes, stdout/stderr separation, config, --list, --json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spaps_cli.app import run
from spaps_cli.codemods.on_event_to_lifespan import OnEventToLifespan
from spaps_cli.codemods.registry import CODEMODS

APP = OnEventToLifespan.EXAMPLES[0].before
APP_AFTER = OnEventToLifespan.EXAMPLES[0].after
FOLLOW_UP = OnEventToLifespan.EXAMPLES[-1].before


def spaps(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(["migrate", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An old service: a pyproject without [tool.spaps], one app to migrate, one follow-up."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "htma"\nversion = "1.0"\n')
    package = tmp_path / "htma"
    package.mkdir()
    (package / "main.py").write_text(APP)
    (package / "extra.py").write_text(FOLLOW_UP)
    (package / "models.py").write_text("class Item:\n    pass\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_exits_1_and_writes_nothing(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = spaps(capsys, "--check")
    assert code == 1
    assert out == ""
    assert "would update  htma/main.py" in err
    assert "manual follow-ups" in err
    assert "htma/extra.py:3" in err  # the constructor that already has lifespan=
    assert (service / "htma" / "main.py").read_text() == APP


def test_default_writes_then_check_passes(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = spaps(capsys, "htma")
    assert code == 0
    assert (service / "htma" / "main.py").read_text() == APP_AFTER
    code, _, err = spaps(capsys, "--check", "htma")
    assert code == 1  # htma/extra.py still has an on_event handler FastAPI never runs
    assert "htma/extra.py" in err
    assert "fail the gate" in err
    code, _, err = spaps(capsys, "--check", "htma/main.py")
    assert code == 0


def test_diff_prints_a_plain_unified_diff_and_writes_nothing(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = spaps(capsys, "--diff", "htma/main.py")
    assert code == 1
    assert out.startswith("--- a/htma/main.py\n+++ b/htma/main.py\n")
    assert "\x1b[" not in out  # not a terminal: no colour codes
    assert "+@asynccontextmanager" in out
    assert (service / "htma" / "main.py").read_text() == APP


def test_json_report(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (service / "htma" / "broken.py").write_text('app.on_event("startup"\n')
    code, out, _ = spaps(capsys, "--check", "--json")
    assert code == 2  # a failed file wins over "changes pending"
    report = json.loads(out)
    assert report["files"] == {"scanned": 4, "parsed": 2, "changed": 1, "failed": 1}
    assert report["per_codemod"]["on-event-to-lifespan"] == 1
    assert report["errors"][0]["file"] == "htma/broken.py"
    findings = {(f["file"], f["auto_fixable"]) for f in report["findings"]}
    assert ("htma/main.py", True) in findings
    assert ("htma/extra.py", False) in findings
    for finding in report["findings"]:
        assert set(finding) == {
            "codemod",
            "file",
            "line",
            "message",
            "auto_fixable",
            "deprecated",
            "acknowledged",
        }


def test_json_with_diff_carries_the_diffs(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = spaps(capsys, "--diff", "--json")
    report = json.loads(out)
    assert code == 1
    assert report["diffs"]["htma/main.py"].startswith("--- a/htma/main.py")


def test_select_and_ignore(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = spaps(capsys, "--check", "--select", "settings-to-runtime,imports")
    assert code == 0
    code, _, _ = spaps(capsys, "--check", "--ignore", "on-event-to-lifespan")
    assert code == 0
    code, _, err = spaps(capsys, "--check", "--select", "no-such-codemod")
    assert code == 2
    assert "unknown codemod id(s): no-such-codemod" in err


def test_config_table_without_the_rest_of_tool_spaps(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (service / "pyproject.toml").write_text(
        '[project]\nname = "htma"\n\n[tool.spaps.migrate]\n'
        'ignore = ["on-event-to-lifespan"]\nexclude = ["htma/legacy/*"]\n'
        'settings-class = "HTMASettings"\n'
    )
    (service / "htma" / "legacy").mkdir()
    (service / "htma" / "legacy" / "old.py").write_text(APP)
    (service / "htma" / "config.py").write_text(
        "from pydantic_settings import BaseSettings\n\n\nclass HTMASettings(BaseSettings):\n"
        "    debug: bool = False\n    model_dir: str = '/models'\n"
    )
    # The service's code imports its settings (a class nothing imports is not the service's).
    (service / "htma" / "models.py").write_text("from htma.config import HTMASettings\n")
    code, out, _err = spaps(capsys, "--check", "--json")
    report = json.loads(out)
    assert code == 1
    assert report["changed_files"] == ["htma/config.py"]
    assert "on-event-to-lifespan" not in report["codemods"]


def test_bad_config_is_a_usage_error(service: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (service / "pyproject.toml").write_text("[tool.spaps.migrate]\nselct = []\n")
    code, _, err = spaps(capsys, "--check")
    assert code == 2
    assert "unknown key 'selct' in [tool.spaps.migrate]; did you mean 'select'?" in err


def test_check_and_diff_together_is_refused(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _err = spaps(capsys, "--check", "--diff")
    assert code == 2


def test_list_shows_every_codemod(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = spaps(capsys, "--list")
    assert code == 0
    for codemod in CODEMODS:
        assert codemod.ID in out
        assert codemod.SUMMARY in out
    code, out, _ = spaps(capsys, "--list", "--json")
    listed = json.loads(out)
    assert [entry["id"] for entry in listed] == [codemod.ID for codemod in CODEMODS]
    assert listed[-1]["examples"][0]["after"] == APP_AFTER


def test_missing_path_is_a_per_file_error(
    service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = spaps(capsys, "--check", "nope.py", "htma/models.py")
    assert code == 2
    assert "nope.py: no such file or directory" in err


def test_help_does_not_import_libcst() -> None:
    probe = (
        "import sys\nfrom spaps_cli.app import run\n"
        "assert run(['--help']) == 0\n"
        "code = run(['migrate', '--help'])\n"
        "assert 'libcst' not in sys.modules, 'libcst imported by --help'\n"
        "sys.exit(code)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert "--check" in completed.stdout


def test_pre_commit_hook_definition() -> None:
    import yaml

    hooks = yaml.safe_load((Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text())
    [hook] = [hook for hook in hooks if hook["id"] == "spaps-migrate-check"]
    assert hook["entry"] == "spaps migrate --check"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]


def test_list_prints_whole_examples_when_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Piped --list output is plain text with every example line whole (none over 80 columns
    cut or wrapped)."""
    code, out, _ = spaps(capsys, "--list")
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) > 100  # the long examples really are in there
    for codemod in CODEMODS:
        example = codemod.EXAMPLES[0]
        for text in (example.before, example.after):
            for line in text.splitlines():
                assert (f"    {line}" if line else "") in lines
    assert "\x1b[" not in out
