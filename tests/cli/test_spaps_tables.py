"""Every ``[tool.spaps.*]`` table refuses unknown keys, whichever command reads it.

Observed: ``[tool.spaps.release] tag_prefix = "demo-v"`` (underscore) was silently dropped and
the release was tagged ``v1.0.0``; ``[tool.spaps.migrate]`` already refused its typos. One
validator now covers every table, names the key and the nearest valid one, and exits 2.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.cli_runner import RunSpaps

DISTRIBUTION = """\
[project]
name = "demo-pkg"
version = "1.0.0"

{extra}
"""

SERVICE = """\
[project]
name = "billing-api"
version = "0.1.0"

[tool.spaps]
service = "billing-api"
package = "billing_api"
domains = []
{extra}
"""


def _distribution(root: Path, extra: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(DISTRIBUTION.format(extra=extra))
    (root / "demo_pkg").mkdir(exist_ok=True)
    (root / "demo_pkg" / "__init__.py").write_text('__version__ = "1.0.0"\n')
    return root


def _only_error(stderr: str) -> str:
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


@pytest.mark.parametrize(
    "argv",
    [
        ("release", "check", "--offline"),
        ("release", "bump", "patch", "--offline", "--dry-run"),
        ("migrate", "--check", "."),
    ],
)
def test_misspelt_release_key_is_refused_with_the_right_spelling(
    run_spaps: RunSpaps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    root = _distribution(tmp_path / "dist", '[tool.spaps.release]\ntag_prefix = "demo-v"\n')
    before = (root / "pyproject.toml").read_bytes()
    monkeypatch.chdir(root)
    outcome = run_spaps(*argv)
    assert outcome.code == 2, outcome.stderr
    line = _only_error(outcome.stderr)
    assert "pyproject.toml" in line
    assert "unknown key 'tag_prefix' in [tool.spaps.release]; did you mean 'tag-prefix'?" in line
    assert (root / "pyproject.toml").read_bytes() == before


def test_the_right_spelling_sets_the_tag(
    run_spaps: RunSpaps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _distribution(tmp_path / "dist", '[tool.spaps.release]\ntag-prefix = "demo-v"\n')
    monkeypatch.chdir(root)
    outcome = run_spaps("release", "check", "--offline", "--json")
    assert outcome.json()["tag"] == "demo-v1.0.0"


@pytest.mark.parametrize(
    ("extra", "key", "table", "nearest"),
    [
        ("domain = []", "domain", "tool.spaps", "domains"),
        ("migration_domains = []", "migration_domains", "tool.spaps", "migration-domains"),
        ("[tool.spaps.answers]\ncelry = true", "celry", "tool.spaps.answers", "celery"),
        (
            "[tool.spaps.release]\nversion_file = 'x.py'",
            "version_file",
            "tool.spaps.release",
            "version-file",
        ),
        ("[tool.spaps.migrate]\nexclud = []", "exclud", "tool.spaps.migrate", "exclude"),
    ],
)
def test_every_table_names_the_key_and_the_nearest(
    run_spaps: RunSpaps, tmp_path: Path, extra: str, key: str, table: str, nearest: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(SERVICE.format(extra=extra))
    outcome = run_spaps("add", "domain", "users", "--dir", str(tmp_path))
    assert outcome.code == 2, outcome.stderr
    assert f"unknown key '{key}' in [{table}]; did you mean '{nearest}'?" in _only_error(
        outcome.stderr
    )
    assert not (tmp_path / "src").exists()


def test_a_key_like_nothing_valid_lists_the_valid_keys(run_spaps: RunSpaps, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(SERVICE.format(extra="[tool.spaps.release]\nzzz = 1"))
    outcome = run_spaps("doctor", str(tmp_path))
    assert outcome.code == 2
    line = _only_error(outcome.stderr)
    assert line.endswith("unknown key 'zzz' in [tool.spaps.release]")
    assert "hint: valid keys: series, tag-prefix, version-file" in outcome.stderr


def test_a_table_that_is_not_a_table(run_spaps: RunSpaps, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(SERVICE.format(extra='release = "v"'))
    outcome = run_spaps("doctor", str(tmp_path))
    assert outcome.code == 2
    assert "[tool.spaps.release] must be a table" in _only_error(outcome.stderr)


def test_what_spaps_writes_is_what_it_accepts(tmp_path: Path) -> None:
    """Every key `spaps new service` records is valid: the schema does not lag the writer."""
    import tomllib

    from spaps_cli.generators.service import ServiceAnswers, record_spaps_table
    from spaps_cli.names import service_name
    from spaps_cli.project import SPAPS_TABLE_KEYS, check_spaps_tables

    answers = ServiceAnswers(name=service_name("billing-api"), description="A service.")
    text = record_spaps_table(
        '[project]\nname = "billing-api"\n', answers, "202612050000", {}, service_id="0123abcd"
    )
    document = tomllib.loads(text)
    check_spaps_tables(document, tmp_path / "pyproject.toml")
    spaps = document["tool"]["spaps"]
    assert set(spaps) <= SPAPS_TABLE_KEYS["tool.spaps"]
    assert set(spaps["answers"]) == SPAPS_TABLE_KEYS["tool.spaps.answers"]
