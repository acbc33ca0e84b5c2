"""``spaps update --runtime``: the pin, the release's codemods, and the runtime half of --check.

The runtime release is the scenario's 2.0.0 (``create_metadata`` renamed); its codemod reaches
the CLI through the registry type the CLI's own rows use (``UpgradeRegistry.installed``), and the
matrix through ``load_matrix``, both replaced here the way the template tests replace
``TemplateVersions.installed``.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import libcst as cst
import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.codemods.base import Codemod
from spaps_cli.codemods.runtime_upgrades import RuntimeUpgrade, UpgradeRegistry
from spaps_cli.fleet import compat
from spaps_cli.fleet.compat import CompatibilityMatrix
from spaps_cli.update.runtime import line_before
from tests.update.conftest import snapshot
from tests.update.runtime_scenario import NEW, OLD, REGISTRY, BuildMetadata, matrix_with_v2
from tests.update.scenario import replace

DB = "src/billing_api/db.py"


@pytest.fixture(autouse=True)
def _no_outer_virtualenv(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's runtime is read from its own environment; not from the one running pytest."""
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)


@pytest.fixture
def released(monkeypatch: pytest.MonkeyPatch) -> CompatibilityMatrix:
    """The CLI as a release listing runtime 2.0.0 (and shipping its codemod) would be."""
    matrix = matrix_with_v2()
    monkeypatch.setattr(compat, "load_matrix", lambda path=compat.MATRIX_PATH: matrix)
    monkeypatch.setattr(UpgradeRegistry, "installed", classmethod(lambda cls: REGISTRY))
    return matrix


def _pins(root: Path) -> list[str]:
    document = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    project = document["project"]
    strings = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [s for s in strings if s.startswith("spaps-server-quickstart")]


def test_runtime_upgrade_bumps_the_pins_and_runs_the_codemod(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    pyproject_before = (service_root / "pyproject.toml").read_text(encoding="utf-8")
    assert f"import DatabaseResources, {OLD}" in (service_root / DB).read_text(encoding="utf-8")

    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0", "--json")

    result = outcome.json()
    assert result["runtime"] == {"from": "1.0.0", "to": "2.0.0"}
    assert result["upgrades"] == ["2.0.0"]
    assert result["codemods"] == [BuildMetadata.ID]
    assert result["changed_files"] == [DB]
    assert _pins(service_root) == [
        "spaps-server-quickstart[postgres,redis,server]>=2.0,<3",
        "spaps-server-quickstart[testing]>=2.0,<3",
    ]
    db = (service_root / DB).read_text(encoding="utf-8")
    assert f"import DatabaseResources, {NEW}\n" in db
    assert f"metadata = {NEW}()" in db
    assert OLD not in db
    # tomlkit: only the two requirement lines changed, every comment and blank line kept
    pyproject_after = (service_root / "pyproject.toml").read_text(encoding="utf-8")
    changed = [
        (old, new)
        for old, new in zip(
            pyproject_before.splitlines(), pyproject_after.splitlines(), strict=True
        )
        if old != new
    ]
    assert len(changed) == 2, changed
    # the vendored 1.0.0 wheel no longer satisfies the pin: a follow-up with its line; exit 3
    follow_ups = [f for f in result["findings"] if not f["auto_fixable"]]
    assert [f["codemod"] for f in follow_ups] == ["runtime-pin"]
    line = pyproject_after.splitlines()[follow_ups[0]["line"] - 1]
    assert line.startswith("spaps-server-quickstart = { path =")
    assert outcome.code == 3
    assert result["exit_code"] == 3


def test_human_output_lists_the_pin_the_files_and_the_follow_ups(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0")

    assert outcome.code == 3
    text = outcome.stdout + outcome.stderr
    assert ">=2.0,<3" in text
    assert DB in text
    assert "pyproject.toml:" in text
    assert "upgraded runtime 1.0.0 -> 2.0.0" in " ".join(text.split())


def test_second_run_is_a_no_op(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    run_spaps("update", str(service_root), "--runtime", "2.0.0")
    after_first = snapshot(service_root)

    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0", "--json")

    assert snapshot(service_root) == after_first
    result = outcome.json()
    assert result["up_to_date"] is True
    assert result["pin"] == []
    assert result["changed_files"] == []


@pytest.mark.parametrize("flag", ["--dry-run", "--diff", "--check"])
def test_dry_run_diff_and_check_write_nothing(
    flag: str, service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    before = snapshot(service_root)

    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0", flag, "--json")

    assert snapshot(service_root) == before
    result = outcome.json()
    assert result["dry_run"] is True
    assert result["changed_files"] == [DB]
    if flag == "--check":
        assert outcome.code == 1
        assert "run 'spaps update --runtime 2.0.0'" in result["message"]
    if flag == "--diff":
        assert f"-from spaps_server_quickstart.db import DatabaseResources, {OLD}" in result["diff"]
        assert '+    "spaps-server-quickstart[testing]>=2.0,<3",' in result["diff"]


def test_check_passes_once_upgraded(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    run_spaps("update", str(service_root), "--runtime", "2.0.0")
    # the team moves the vendored wheel path on (the follow-up) and acknowledges nothing else
    replace(service_root / "pyproject.toml", "-1.0.0-", "-2.0.0-")

    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0", "--check")

    assert outcome.code == 0, outcome.stderr
    assert "ready for runtime 2.0.0" in outcome.stdout + outcome.stderr


@pytest.mark.parametrize("value", ["two", "2..0", ""])
def test_a_bad_version_is_one_line_naming_the_option(
    value: str, service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    before = snapshot(service_root)

    outcome = run_spaps("update", str(service_root), "--runtime", value)

    assert outcome.code == 2
    assert len(outcome.error_lines) == 1
    assert "--runtime" in outcome.error_lines[0]
    assert "is not a version" in outcome.error_lines[0]
    assert snapshot(service_root) == before


def test_a_version_the_matrix_does_not_list_is_refused(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    outcome = run_spaps("update", str(service_root), "--runtime", "2.1.0")

    assert outcome.code == 2
    assert "--runtime 2.1.0 is not in the compatibility matrix" in outcome.error_lines[0]


def test_a_version_outside_the_templates_range_is_refused(
    service_root: Path, run_spaps: RunSpaps, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This CLI's own matrix: template 1 runs on >=1.0,<2 only, and 2.0.0 is not listed.
    matrix = matrix_with_v2()
    narrowed = CompatibilityMatrix(runtimes=matrix.runtimes, clis=matrix.clis[1:])
    monkeypatch.setattr(compat, "load_matrix", lambda path=compat.MATRIX_PATH: narrowed)

    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0")

    assert outcome.code == 2
    assert "outside what template 1 supports (>=1.0,<2)" in outcome.error_lines[0]


def test_runtime_and_to_cannot_be_combined(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0", "--to", "1")

    assert outcome.code == 2
    assert "--runtime and --to" in outcome.error_lines[0]


def test_an_unparsable_file_stops_the_upgrade_before_anything_is_written(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    broken = service_root / "src" / "billing_api" / "broken.py"
    broken.write_text(f"from spaps_server_quickstart.db import {OLD}\ndef (:\n", encoding="utf-8")
    before = snapshot(service_root)

    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0")

    assert outcome.code == 2
    assert "src/billing_api/broken.py" in outcome.error_lines[0]
    assert snapshot(service_root) == before


def test_releases_run_in_version_order_each_on_the_previous_output(
    service_root: Path, run_spaps: RunSpaps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1.5 renames create_metadata -> make_metadata, 2.0 make_metadata -> build_metadata."""

    class MakeMetadata(BuildMetadata):
        ID = "runtime-1.5-make-metadata"
        RUNTIME_VERSION = "1.5.0"
        RENAMES = {f"spaps_server_quickstart.db.{OLD}": "spaps_server_quickstart.db.make_metadata"}

    class MakeToBuild(BuildMetadata):
        ID = "runtime-2-make-to-build"
        RENAMES = {"spaps_server_quickstart.db.make_metadata": f"spaps_server_quickstart.db.{NEW}"}

    registry = UpgradeRegistry.of(
        [RuntimeUpgrade("2.0.0", (MakeToBuild,)), RuntimeUpgrade("1.5.0", (MakeMetadata,))]
    )
    matrix = matrix_with_v2()
    monkeypatch.setattr(compat, "load_matrix", lambda path=compat.MATRIX_PATH: matrix)
    monkeypatch.setattr(UpgradeRegistry, "installed", classmethod(lambda cls: registry))

    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0", "--json")

    result = outcome.json()
    assert result["codemods"] == [MakeMetadata.ID, MakeToBuild.ID]
    db = (service_root / DB).read_text(encoding="utf-8")
    assert f"metadata = {NEW}()" in db
    assert "make_metadata" not in db


def test_registry_refuses_a_version_twice() -> None:
    with pytest.raises(ValueError, match="registered twice"):
        UpgradeRegistry.of([RuntimeUpgrade("2.0.0", ()), RuntimeUpgrade("2.0", ())])


# -- --check: the recommended runtime ----------------------------------------------------------


def test_recommended_runtime_is_the_newest_supported_in_the_templates_range() -> None:
    assert matrix_with_v2().recommended_runtime("1") == compat.Version("2.0.0")
    assert matrix_with_v2(v2_status="deprecated").recommended_runtime("1") == compat.Version(
        "1.0.0"
    )
    assert matrix_with_v2().recommended_runtime("9") is None
    assert compat.load_matrix().recommended_runtime("1") == compat.Version("1.0.0")


def test_check_fails_a_service_behind_the_recommended_runtime(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    outcome = run_spaps("update", str(service_root), "--check", "--json")

    assert outcome.code == 1
    result = outcome.json()
    assert result["behind"] == 0  # the template is current
    assert result["runtime"]["current"] == "1.0.0"
    assert result["runtime"]["recommended"] == "2.0.0"
    assert result["runtime"]["behind"] == 1
    assert "(1 release behind); run 'spaps update --runtime 2.0.0'" in result["message"]


def test_check_reads_the_installed_runtime_from_the_services_environment(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    site = service_root / ".venv" / "lib" / "python3.11" / "site-packages"
    (site / "spaps_server_quickstart-2.0.0.dist-info").mkdir(parents=True)
    (service_root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")

    outcome = run_spaps("update", str(service_root), "--check")

    # installed 2.0.0 is the recommended runtime, even though the pin still says <2
    assert outcome.code == 0, outcome.stderr


def test_check_passes_on_the_recommended_runtime_of_this_clis_own_matrix(
    service_root: Path, run_spaps: RunSpaps
) -> None:
    outcome = run_spaps("update", str(service_root), "--check", "--json")

    assert outcome.code == 0, outcome.stdout
    assert outcome.json()["runtime"] == {
        "current": "1.0.0",
        "recommended": "1.0.0",
        "behind": 0,
        "message": "billing-api is on runtime 1.0.0: the recommended one",
    }


def test_fleet_check_has_a_runtime_column(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps, tmp_path: Path
) -> None:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    shutil.move(service_root, fleet / "billing-api")
    shutil.copytree(fleet / "billing-api", fleet / "ledger-api")
    ledger = fleet / "ledger-api"
    assert run_spaps("update", str(ledger), "--runtime", "2.0.0").code == 3
    replace(ledger / "pyproject.toml", 'service = "billing-api"', 'service = "ledger-api"')

    outcome = run_spaps("update", "--fleet", str(fleet), "--check", "--json")

    rows = {row["service"]: row for row in outcome.json()["services"]}
    assert rows["billing-api"]["runtime"] == "1.0.0 (1 behind 2.0.0)"
    assert rows["billing-api"]["result"] == "runtime 1 behind"
    assert rows["ledger-api"]["runtime"] == "2.0.0"
    assert rows["ledger-api"]["result"] == "up to date"
    assert outcome.code == 1
    table = run_spaps("update", "--fleet", str(fleet), "--check")
    text = " ".join((table.stdout + table.stderr).split())
    assert "runtime" in text
    assert "1.0.0 (1 behind" in text


def test_fleet_runtime_upgrade_reports_each_service(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps, tmp_path: Path
) -> None:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    shutil.move(service_root, fleet / "billing-api")

    outcome = run_spaps("update", "--fleet", str(fleet), "--runtime", "2.0.0", "--json")

    [row] = outcome.json()["services"]
    assert row["runtime"] == "1.0.0 -> 2.0.0"
    assert row["result"] == "1 follow-up(s)"
    assert row["follow_ups"][0]["path"] == "pyproject.toml"
    assert outcome.code == 3
    assert NEW in (fleet / "billing-api" / DB).read_text(encoding="utf-8")


def test_every_runtime_requirement_moves_with_its_extras_and_marker(
    service_root: Path, released: CompatibilityMatrix, run_spaps: RunSpaps
) -> None:
    pyproject = service_root / "pyproject.toml"
    with pyproject.open("a", encoding="utf-8") as handle:
        handle.write(
            "\n[dependency-groups]\n"
            "# the team's own group, kept as written\n"
            "ci = [\"Spaps_Server_Quickstart[redis] ~= 1.0 ; python_version >= '3.11'\","
            ' "pytest"]\n'
        )

    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0", "--json")

    assert outcome.code == 3, outcome.stderr
    text = pyproject.read_text(encoding="utf-8")
    assert "# the team's own group, kept as written\n" in text
    assert (
        'ci = ["Spaps_Server_Quickstart[redis]>=2.0,<3; python_version >= \'3.11\'", "pytest"]'
        in text
    )
    assert len(outcome.json()["pin"]) == 3


class DropLegacyShim(Codemod):
    """Release 1.5.0 (synthetic): ``enable_legacy_metadata()`` is gone; its import and calls go.

    Each dropped statement takes its blank lines with it, so every later line moves up.
    """

    ID = "runtime-1.5-drop-legacy-shim"
    SUMMARY = "enable_legacy_metadata is gone (runtime 1.5.0): its import and calls are dropped."
    NEEDLES = (b"enable_legacy_metadata",)
    EXAMPLES = ()

    def leave_SimpleStatementLine(
        self, original_node: cst.SimpleStatementLine, updated_node: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.RemovalSentinel:
        if "enable_legacy_metadata" in cst.Module([]).code_for_node(original_node):
            self.changed(original_node, "dropped enable_legacy_metadata")
            return cst.RemovalSentinel.REMOVE
        return updated_node


LEGACY_MODULE = f'''"""The team's reporting tables."""

from spaps_server_quickstart.compat import enable_legacy_metadata
from spaps_server_quickstart.db import {OLD}

enable_legacy_metadata()

#: Where the factory lives (read by the team's docs generator).
FACTORY = "spaps_server_quickstart.db.{OLD}"

reporting_metadata = {OLD}()
'''


def test_follow_ups_of_a_later_release_carry_the_lines_on_disk(
    service_root: Path, run_spaps: RunSpaps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1.5 drops three lines above the string 2.0 reports: the report still names the line the
    person sees in the file before the run, not the line of 1.5's output."""
    registry = UpgradeRegistry.of(
        [RuntimeUpgrade("1.5.0", (DropLegacyShim,)), RuntimeUpgrade("2.0.0", (BuildMetadata,))]
    )
    matrix = matrix_with_v2()
    monkeypatch.setattr(compat, "load_matrix", lambda path=compat.MATRIX_PATH: matrix)
    monkeypatch.setattr(UpgradeRegistry, "installed", classmethod(lambda cls: registry))
    module = service_root / "src" / "billing_api" / "reports.py"
    module.write_text(LEGACY_MODULE, encoding="utf-8")
    on_disk = LEGACY_MODULE.splitlines().index(f'FACTORY = "spaps_server_quickstart.db.{OLD}"') + 1

    outcome = run_spaps("update", str(service_root), "--runtime", "2.0.0", "--json")

    result = outcome.json()
    assert result["codemods"] == [DropLegacyShim.ID, BuildMetadata.ID]
    rewritten = module.read_text(encoding="utf-8")
    assert "enable_legacy_metadata" not in rewritten
    moved_to = rewritten.splitlines().index(f'FACTORY = "spaps_server_quickstart.db.{OLD}"') + 1
    assert moved_to < on_disk  # the first release really moved it
    [string] = [
        f for f in result["findings"] if f["codemod"] == BuildMetadata.ID and not f["auto_fixable"]
    ]
    assert (string["file"], string["line"]) == ("src/billing_api/reports.py", on_disk)
    # the later release's rewrite of the import is reported at the import's line on disk too
    [renamed] = [
        f["line"]
        for f in result["findings"]
        if f["codemod"] == BuildMetadata.ID
        and f["auto_fixable"]
        and f["file"] == "src/billing_api/reports.py"
    ]
    import_line = f"from spaps_server_quickstart.db import {OLD}"
    assert renamed == LEGACY_MODULE.splitlines().index(import_line) + 1


@pytest.mark.parametrize(
    ("before", "after", "line", "expected"),
    [
        ("a\nb\nc\nd\n", "a\nd\n", 2, 4),  # lines removed above: the line it was
        ("a\nb\n", "a\nx\ny\nb\n", 4, 2),  # lines added above
        ("a\nold\nc\n", "a\nnew\nc\n", 2, 2),  # a rewritten line: the line it was rewritten from
        ("a\nb\n", "a\nadded\nb\n", 2, 2),  # an added line: the line after the insertion
        ("a\n", "a\n", 7, 1),  # out of range (a finding at the end): the last line
    ],
)
def test_line_before_maps_a_later_texts_line_to_the_earlier_text(
    before: str, after: str, line: int, expected: int
) -> None:
    assert line_before(before.encode(), after.encode(), line) == expected
