"""The rename codemod a runtime release subclasses: what it proves, what it leaves to a person."""

from __future__ import annotations

from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.runner import migrate_source
from tests.update.runtime_scenario import NEW, OLD, BuildMetadata

DB = "spaps_server_quickstart.db"


class MovedAndRenamed(BuildMetadata):
    ID = "runtime-test-moved"
    RENAMES = {
        f"{DB}.{OLD}": f"{DB}.{NEW}",
        "spaps_server_quickstart.app.create_app": "spaps_server_quickstart.factory.create_app",
    }


def _migrate(source: str, codemod: type[BuildMetadata] = BuildMetadata) -> tuple[str, list[str]]:
    migration = migrate_source(source.encode(), (codemod,), MigrateConfig(), "app/mod.py")
    follow_ups = [f"{f.line}: {f.message}" for f in migration.findings if not f.auto_fixable]
    return migration.new_source.decode(), follow_ups


def test_import_and_uses_are_renamed_but_not_a_shadowing_local() -> None:
    code, follow_ups = _migrate(
        f"from {DB} import DatabaseResources, {OLD}\n\n"
        f"metadata = {OLD}()\n\n\n"
        f"def keep({OLD}: object) -> object:\n"
        f"    return {OLD}\n"
    )

    assert code == (
        f"from {DB} import DatabaseResources, {NEW}\n\n"
        f"metadata = {NEW}()\n\n\n"
        f"def keep({OLD}: object) -> object:\n"
        f"    return {OLD}\n"
    )
    assert follow_ups == []


def test_an_alias_keeps_every_call_site() -> None:
    code, _ = _migrate(f"from spaps_server_quickstart import {OLD} as make\n\nm = make()\n")

    assert code == f"from spaps_server_quickstart import {NEW} as make\n\nm = make()\n"


def test_a_name_bound_twice_is_imported_under_its_old_name() -> None:
    code, follow_ups = _migrate(f"from {DB} import {OLD}\n\n{OLD} = {OLD}()\n")

    assert code == f"from {DB} import {NEW} as {OLD}\n\n{OLD} = {OLD}()\n"
    assert follow_ups == []


def test_a_name_this_module_exports_keeps_its_name() -> None:
    code, follow_ups = _migrate(f'from {DB} import {OLD}\n\n__all__ = ["{OLD}"]\n')

    assert code.startswith(f"from {DB} import {NEW} as {OLD}\n")
    assert follow_ups == []


def test_module_attributes_are_renamed() -> None:
    code, _ = _migrate(
        f"import spaps_server_quickstart.db\nimport spaps_server_quickstart as sq\n\n"
        f"a = spaps_server_quickstart.db.{OLD}()\nb = sq.{OLD}()\n"
    )

    assert f"a = spaps_server_quickstart.db.{NEW}()" in code
    assert f"b = sq.{NEW}()" in code


def test_an_attribute_of_a_rebound_name_is_a_follow_up() -> None:
    code, follow_ups = _migrate(
        f"import spaps_server_quickstart as sq\n\nsq = object()\nb = sq.{OLD}()\n"
    )

    assert f"sq.{OLD}()" in code
    assert len(follow_ups) == 1
    assert follow_ups[0].startswith("4: ")


def test_strings_and_star_imports_are_follow_ups_with_their_line() -> None:
    code, follow_ups = _migrate(
        f'from {DB} import *\n\nimport spaps_server_quickstart as sq\n\nf = getattr(sq, "{OLD}")\n'
    )

    assert code.count(OLD) == 1
    assert [line.split(":")[0] for line in follow_ups] == ["1", "5"]
    assert "import *" in follow_ups[0]


def test_a_moved_name_is_rewritten_alone_and_reported_next_to_others() -> None:
    alone, _ = _migrate(
        "from spaps_server_quickstart.app import create_app as make\n", MovedAndRenamed
    )
    shared, follow_ups = _migrate(
        "from spaps_server_quickstart.app import create_app, lifespan\n", MovedAndRenamed
    )

    assert alone == "from spaps_server_quickstart.factory import create_app as make\n"
    assert shared == "from spaps_server_quickstart.app import create_app, lifespan\n"
    assert follow_ups == [
        "1: spaps_server_quickstart.app.create_app moved to"
        " spaps_server_quickstart.factory.create_app (runtime 2.0.0):"
        " import it from spaps_server_quickstart.factory"
    ]


def test_rewritten_code_is_left_alone_by_a_second_run() -> None:
    first, _ = _migrate(f"from {DB} import {OLD}\n\n{OLD} = {OLD}()\nm = {OLD}\n")
    second, follow_ups = _migrate(first)

    assert second == first
    assert follow_ups == []


def test_the_examples_hold() -> None:
    for example in BuildMetadata.EXAMPLES:
        assert _migrate(example.before)[0] == example.after
