"""Helpers for the migrate tests: run codemods on text and check the safety properties."""

from __future__ import annotations

import ast

import libcst as cst

from spaps_cli.codemods.base import Codemod
from spaps_cli.codemods.config import MigrateConfig
from spaps_cli.codemods.project_scan import ProjectFacts
from spaps_cli.codemods.runner import migrate_source


def transform(
    source: str,
    codemod: type[Codemod],
    config: MigrateConfig | None = None,
    facts: ProjectFacts | None = None,
) -> tuple[str, list[str], list[str]]:
    """(new source, auto-fixed messages, follow-up messages) for one codemod on ``source``.

    ``facts`` default to the codemod's ``EXAMPLE_FACTS``: what the rest of its project shows.
    """
    outcome = codemod(
        config or codemod.EXAMPLE_CONFIG, facts if facts is not None else codemod.EXAMPLE_FACTS
    ).apply(cst.parse_module(source))
    fixed = [p.message for p in outcome.pending if p.auto_fixable]
    follow = [p.message for p in outcome.pending if not p.auto_fixable]
    return outcome.module.code, fixed, follow


def assert_migrates(
    source: str,
    expected: str,
    codemod: type[Codemod],
    config: MigrateConfig | None = None,
    facts: ProjectFacts | None = None,
) -> list[str]:
    """The django-upgrade/OpenRewrite check: exact output, parses, and a second run is a no-op."""
    output, _fixed, follow = transform(source, codemod, config, facts)
    assert output == expected
    ast.parse(output)
    again, _, _ = transform(output, codemod, config, facts)
    assert again == output, "codemod is not idempotent"
    return follow


def assert_all_codemods_idempotent(source: bytes, config: MigrateConfig | None = None) -> bytes:
    from spaps_cli.codemods.registry import CODEMODS

    config = config or MigrateConfig()
    first = migrate_source(source, CODEMODS, config).new_source
    ast.parse(first)
    second = migrate_source(first, CODEMODS, config).new_source
    assert second == first, "running every codemod twice changed the file again"
    return first
