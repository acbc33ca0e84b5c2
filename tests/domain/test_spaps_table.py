"""Recording a domain in ``[tool.spaps]``: both lists, the layout kept, the defaults shared."""

from __future__ import annotations

import tomllib

from spaps_cli.generators.service import ServiceAnswers, record_spaps_table
from spaps_cli.generators.spaps_table import record_domain
from spaps_cli.names import service_name


def test_a_missing_migration_domains_key_is_recreated_with_the_new_service_default() -> None:
    """Without ``core`` the service's own migration-name test rejects its initial revision."""
    fresh = record_spaps_table(
        "[project]\nname = 'x'\n",
        ServiceAnswers.build(service_name("x")),
        "202611261200",
        {},
        service_id="0123abcd",
    )
    default = tomllib.loads(fresh)["tool"]["spaps"]["migration-domains"]
    pyproject = '[tool.spaps]\npackage = "x"\ndomains = []\n'

    recorded = tomllib.loads(record_domain(pyproject, "billing", filename="pyproject.toml"))

    assert recorded["tool"]["spaps"]["migration-domains"] == [*default, "billing"]
    assert recorded["tool"]["spaps"]["domains"] == ["billing"]


def test_recording_twice_is_a_no_op_down_to_the_byte() -> None:
    pyproject = '[tool.spaps]\npackage = "x"\n'
    once = record_domain(pyproject, "billing", filename="pyproject.toml")

    assert record_domain(once, "billing", filename="pyproject.toml") == once
