"""``spaps migrate --check`` as a CI gate: deprecated code left, acknowledgements, --strict,
and the preflight that keeps codemods off projects whose versions they cannot serve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spaps_cli.app import run
from spaps_cli.codemods.on_event_to_lifespan import OnEventToLifespan

#: An app with lifespan= and an on_event handler FastAPI never runs: a deprecated follow-up.
ALREADY_HAS_LIFESPAN = OnEventToLifespan.EXAMPLES[-1].before
SETTINGS = """\
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "sqlite://"
"""


def gate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = run(["migrate", "--json", *argv])
    report = json.loads(capsys.readouterr().out)
    assert report["exit_code"] == code
    return code, report


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "1.0"\ndependencies = ["fastapi>=0.115"]\n'
    )
    (tmp_path / "svc").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    return tmp_path


def test_check_fails_on_a_deprecated_follow_up_even_when_nothing_would_change(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "svc" / "main.py").write_text(ALREADY_HAS_LIFESPAN)
    code, report = gate(capsys, "--check")
    assert code == 1
    assert report["files"]["changed"] == 0  # type: ignore[index]
    [finding] = report["findings"]  # type: ignore[misc]
    assert finding["deprecated"] is True
    assert finding["line"] == 3  # the constructor that already has lifespan=


def test_an_inline_ignore_on_the_line_acknowledges_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ALREADY_HAS_LIFESPAN.replace(
        "app = FastAPI(lifespan=lifespan)\n",
        "app = FastAPI(lifespan=lifespan)  # spaps: ignore[on-event-to-lifespan]\n",
    )
    (project / "svc" / "main.py").write_text(source)
    code, report = gate(capsys, "--check")
    assert code == 0
    assert report["findings"][0]["acknowledged"] is True  # type: ignore[index]


def test_an_ignore_for_another_codemod_does_not_acknowledge_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = ALREADY_HAS_LIFESPAN.replace(
        "app = FastAPI(lifespan=lifespan)\n",
        "app = FastAPI(lifespan=lifespan)  # spaps: ignore[settings-to-runtime]\n",
    )
    (project / "svc" / "main.py").write_text(source)
    assert gate(capsys, "--check")[0] == 1


def test_the_config_acknowledges_by_glob_and_id(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "svc" / "main.py").write_text(ALREADY_HAS_LIFESPAN)
    with (project / "pyproject.toml").open("a") as file:
        file.write('\n[tool.spaps.migrate]\nacknowledge = ["svc/*.py:on-event-to-lifespan"]\n')
    code, report = gate(capsys, "--check")
    assert code == 0
    assert report["findings"][0]["acknowledged"] is True  # type: ignore[index]


def test_unknown_keys_in_the_table_are_still_rejected(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (project / "pyproject.toml").open("a") as file:
        file.write('\n[tool.spaps.migrate]\nacknowledged = ["svc/*.py"]\n')
    assert run(["migrate", "--check"]) == 2


def test_pinned_old_fastapi_rewrites_nothing_and_says_what_to_upgrade(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """FastAPI 0.87 accepts lifespan= and ignores it: a rewrite would silently drop startup."""
    (project / "requirements.txt").write_text("uvicorn\nfastapi==0.87.0\n")
    (project / "svc" / "main.py").write_text(OnEventToLifespan.EXAMPLES[0].before)
    code, report = gate(capsys, "--check")
    assert code == 1
    assert report["files"]["changed"] == 0  # type: ignore[index]
    [finding] = [f for f in report["findings"] if f["codemod"] == "preflight"]  # type: ignore[union-attr]
    assert (finding["file"], finding["line"]) == ("requirements.txt", 2)
    assert "fastapi>=0.93.0" in finding["message"]
    assert run(["migrate"]) == 0
    assert (project / "svc" / "main.py").read_text() == OnEventToLifespan.EXAMPLES[0].before


STARLETTE_APP = """\
from starlette.applications import Starlette


async def connect() -> None: ...


app = Starlette(on_startup=[connect])
"""


def test_starlette_only_project_pinned_below_0_16_rewrites_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Starlette 0.13.5-0.15 take ``lifespan=`` only as a generator function: the generated
    ``@asynccontextmanager`` one would fail at startup."""
    (project / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "1.0"\ndependencies = ["starlette==0.15.0"]\n'
    )
    (project / "svc" / "main.py").write_text(STARLETTE_APP)
    code, report = gate(capsys, "--check")
    assert code == 1
    assert report["files"]["changed"] == 0  # type: ignore[index]
    [finding] = [f for f in report["findings"] if f["codemod"] == "preflight"]  # type: ignore[union-attr]
    assert (finding["file"], finding["line"]) == ("pyproject.toml", 4)
    assert "starlette>=0.16.0" in finding["message"]
    assert run(["migrate"]) == 0
    assert (project / "svc" / "main.py").read_text() == STARLETTE_APP
    (project / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "1.0"\ndependencies = ["starlette>=0.16"]\n'
    )
    assert run(["migrate"]) == 0
    assert "app = Starlette(lifespan=lifespan)" in (project / "svc" / "main.py").read_text()


def test_pydantic_1_keeps_the_runtime_codemods_off_and_points_at_bump_pydantic(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "1.0"\n'
        'dependencies = [\n  "fastapi>=0.115",\n  "pydantic<2",\n]\n'
    )
    (project / "svc" / "settings.py").write_text(SETTINGS)
    code, report = gate(capsys, "--check")
    assert code == 0  # a warning: nothing deprecated is left because of it
    [finding] = report["findings"]  # type: ignore[misc]
    assert (finding["codemod"], finding["file"], finding["line"]) == (
        "preflight",
        "pyproject.toml",
        6,
    )
    assert "bump-pydantic" in finding["message"]
    assert "settings-to-runtime" in finding["message"]
    assert gate(capsys, "--check", "--strict")[0] == 1
    assert run(["migrate"]) == 0
    assert (project / "svc" / "settings.py").read_text() == SETTINGS


def test_strict_fails_on_any_unacknowledged_follow_up(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "svc" / "main.py").write_text(ALREADY_HAS_LIFESPAN)
    (project / "svc" / "main.py").write_text(
        ALREADY_HAS_LIFESPAN.replace("lifespan)\n", "lifespan)  # spaps: ignore\n", 1)
    )
    assert gate(capsys, "--check")[0] == 0
    assert gate(capsys, "--check", "--strict")[0] == 0  # acknowledged still counts as handled
