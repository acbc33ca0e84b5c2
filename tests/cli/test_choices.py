"""Choices are data the parser knows: help lists them, completion offers them, parsing refuses
anything else with one ``Error:`` line (exit 2) before any command code runs.

Observed: ``spaps release bump --help`` printed ``{{major|minor|patch|prerelease|VERSION}}``;
``--pre``, ``--starter`` and ``--env`` were free strings; codemod ids did not complete.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from cli.cli_runner import RunSpaps, spaps_process


def complete(words: str) -> list[str]:
    """What bash completion offers for the command line ``words`` (the cursor at its end)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    outcome = spaps_process(
        [], env={"_SPAPS_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    )
    assert outcome.code == 0, outcome.stderr
    return outcome.stdout.split()


def test_bump_usage_has_single_braces(run_spaps: RunSpaps) -> None:
    outcome = run_spaps("release", "bump", "--help")
    assert outcome.code == 0
    assert "{{" not in outcome.stdout
    assert "bump [OPTIONS] {major|minor|patch|prerelease|VERSION}" in outcome.stdout


@pytest.mark.parametrize(
    ("argv", "listed"),
    [
        (("release", "bump", "--help"), "--pre <a|b|rc>"),
        (("add", "domain", "--help"), "--starter <users|admin|crud>"),
        (("doctor", "--help"), "dev|test|staging|prod"),
    ],
)
def test_help_lists_the_choices(run_spaps: RunSpaps, argv: tuple[str, ...], listed: str) -> None:
    outcome = run_spaps(*argv)
    assert listed in " ".join(outcome.stdout.split())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("release", "bump", "patch", "--pre", "beta"),
            "Error: Invalid value for '--pre': 'beta' is not one of 'a', 'b', 'rc'.",
        ),
        (
            ("add", "domain", "billing", "--starter", "blog"),
            "Error: Invalid value for '--starter': 'blog' is not one of 'users', 'admin', 'crud'.",
        ),
        (("doctor", "--env", "eu prod"), "Error: Invalid value for --env: 'eu prod' is not an env"),
    ],
)
def test_a_bad_choice_fails_at_parse_time(
    run_spaps: RunSpaps,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    message: str,
) -> None:
    """Run where no service or distribution exists: only the parser can produce this error."""
    monkeypatch.chdir(tmp_path)
    outcome = run_spaps(*argv)
    assert outcome.code == 2
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, outcome.stderr
    assert errors[0].startswith(message)
    assert list(tmp_path.iterdir()) == []


def test_any_env_name_the_runtime_accepts_parses(run_spaps: RunSpaps, tmp_path: Path) -> None:
    """The runtime takes any env name (``eu-prod``); the CLI must not refuse it at parse time."""
    outcome = run_spaps("doctor", str(tmp_path), "--env", "eu-prod")
    assert outcome.code == 2
    assert "Invalid value" not in outcome.stderr
    assert outcome.error_lines[0].startswith("error: no pyproject.toml")


def test_choices_are_the_engines_values() -> None:
    """The command modules spell the choices out (cheap to import); the engines own them."""
    from spaps_cli.commands.add import StarterName
    from spaps_cli.commands.release import PreChoice
    from spaps_cli.generators.starters import STARTERS
    from spaps_cli.release.version import PrePhase

    assert list(typing.get_args(StarterName)) == list(STARTERS)
    assert list(typing.get_args(PreChoice)) == [phase.value for phase in PrePhase]


def test_codemod_ids_complete() -> None:
    from spaps_cli.codemods.registry import CODEMODS

    ids = [codemod.ID for codemod in CODEMODS]
    assert complete("spaps migrate --select ") == ids
    assert complete("spaps migrate --ignore on-") == ["on-event-to-lifespan"]
    # the last item of a comma-separated list, without the ones already given
    after = complete("spaps migrate --select imports,s")
    assert after == ["imports,settings-to-runtime"]


@pytest.mark.parametrize(
    ("words", "offered"),
    [
        ("spaps release bump ", ["major", "minor", "patch", "prerelease"]),
        ("spaps release bump patch --pre ", ["a", "b", "rc"]),
        ("spaps add domain billing --starter ", ["users", "admin", "crud"]),
        ("spaps doctor --env ", ["dev", "test", "staging", "prod"]),
        ("spaps doctor --env st", ["staging"]),
    ],
)
def test_choices_complete(words: str, offered: list[str]) -> None:
    assert complete(words) == offered
