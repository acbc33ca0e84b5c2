"""A slow index lookup is visible while it runs: a spinner on a terminal, nothing in a pipe.

Observed: ``spaps release check`` (and ``bump``) said nothing until the lookup ended, up to the
whole ``--timeout``. The spinner is transient and never drawn under ``-q``, ``--json`` or when
stderr is not a terminal, so logs and scripts see exactly what they saw before.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli.cli_runner import spaps_in_terminal, spaps_process

from .conftest import IndexServer, make_distribution

SPINNER = "asking "  # the step's description, drawn next to the spinner


def _check(index_server: IndexServer, *extra: str) -> list[str]:
    return ["release", "check", "--index", index_server.url, "--timeout", "1", *extra]


def test_a_slow_lookup_shows_a_spinner_on_a_terminal(
    index_server: IndexServer, tmp_path: Path
) -> None:
    root = make_distribution(tmp_path / "dist", name="slow")
    outcome = spaps_in_terminal(_check(index_server), cwd=root)
    assert outcome.code == 13
    assert SPINNER in outcome.stderr
    assert "for slow" in outcome.stderr
    assert "outcome UNVERIFIABLE" in outcome.stderr


@pytest.mark.parametrize("extra", [("-q",), ("--json",)])
def test_no_spinner_under_quiet_or_json(
    index_server: IndexServer, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    root = make_distribution(tmp_path / "dist", name="slow")
    argv = [*extra, *_check(index_server)] if extra == ("-q",) else _check(index_server, *extra)
    outcome = spaps_in_terminal(argv, cwd=root)
    assert outcome.code == 13
    assert SPINNER not in outcome.stderr


def test_no_spinner_in_a_pipe_even_with_colour_forced(
    index_server: IndexServer, tmp_path: Path
) -> None:
    root = make_distribution(tmp_path / "dist", name="slow")
    outcome = spaps_process(_check(index_server), cwd=root, env={"FORCE_COLOR": "1"})
    assert outcome.code == 13
    assert SPINNER not in outcome.stderr


def test_verbose_prints_the_lookup_and_its_time(index_server: IndexServer, tmp_path: Path) -> None:
    root = make_distribution(tmp_path / "dist", name="demo-pkg", version="1.4.0")
    outcome = spaps_process(["-v", *_check(index_server)], cwd=root)
    assert outcome.code == 0, outcome.stderr
    line = next(line for line in outcome.stderr.splitlines() if line.startswith(SPINNER))
    assert line.endswith("s")
    assert "for demo-pkg: " in line
