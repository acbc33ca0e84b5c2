"""A Windows checkout (CRLF, ``core.autocrlf``) and a BOM: edits keep them, re-runs stay identical."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli.cli_runner import RunSpaps

from spaps_cli.generators.source_text import SourceText

from .conftest import snapshot

REGISTRY = "src/billing_api/api/registry.py"
TASKS = "src/billing_api/domains/billing/tasks.py"
TEXT_SUFFIXES = {".py", ".toml", ".md", ".ini", ".yaml", ".yml", ".cfg", ".mako", ".txt", ""}


def to_crlf(root: Path) -> None:
    """What ``git checkout`` with ``core.autocrlf=true`` does to every text file."""
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in TEXT_SUFFIXES | {".example"}:
            data = path.read_bytes().replace(b"\r\n", b"\n")
            path.write_bytes(data.replace(b"\n", b"\r\n"))


def only_crlf(data: bytes) -> bool:
    return b"\n" in data and data.count(b"\n") == data.count(b"\r\n")


def test_add_domain_and_task_on_a_crlf_checkout_keep_crlf_and_rerun_identical(
    service_root: Path, spaps: RunSpaps
) -> None:
    to_crlf(service_root)
    directory = ("--dir", str(service_root))

    assert spaps("add", "domain", "billing", *directory).code == 0
    assert only_crlf((service_root / REGISTRY).read_bytes())
    assert only_crlf((service_root / "pyproject.toml").read_bytes())
    assert b"billing_router" in (service_root / REGISTRY).read_bytes()

    to_crlf(service_root)  # the new files too, as after a commit and a fresh checkout
    before = snapshot(service_root)
    again = spaps("add", "domain", "billing", *directory, "--json")
    assert again.code == 0, again.stderr
    assert {row["action"] for row in again.json()["files"]} == {"identical"}
    assert snapshot(service_root) == before

    task = ("add", "task", "send_invoice", "--domain", "billing", *directory)
    assert spaps(*task).code == 0
    assert only_crlf((service_root / TASKS).read_bytes())
    to_crlf(service_root)
    before = snapshot(service_root)
    rerun = spaps(*task, "--json")
    assert rerun.code == 0, rerun.stderr
    assert {row["action"] for row in rerun.json()["files"]} == {"identical"}
    assert snapshot(service_root) == before


def test_new_service_rerun_on_a_crlf_checkout_is_identical_and_writes_nothing(
    service_root: Path, spaps: RunSpaps
) -> None:
    assert spaps("add", "domain", "billing", "--dir", str(service_root)).code == 0
    to_crlf(service_root)
    before = snapshot(service_root)

    result = spaps("new", "service", "billing-api", "--dir", str(service_root), "--json")

    assert result.code == 0, result.stderr
    assert {row["action"] for row in result.json()["files"]} == {"identical"}
    assert snapshot(service_root) == before


def test_a_registry_with_a_bom_is_edited_and_keeps_it(service_root: Path, spaps: RunSpaps) -> None:
    registry = service_root / REGISTRY
    registry.write_bytes(b"\xef\xbb\xbf" + registry.read_bytes())

    result = spaps("add", "domain", "billing", "--dir", str(service_root))

    assert result.code == 0, result.stderr
    data = registry.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert b"app.include_router(billing_router)" in data
    before = snapshot(service_root)
    assert spaps("add", "domain", "billing", "--dir", str(service_root)).code == 0
    assert snapshot(service_root) == before


@pytest.mark.parametrize(
    ("original", "edited", "written"),
    [
        ("a\r\nb\r\n", "a\nb\nc\n", "a\r\nb\r\nc\r\n"),
        ("\ufeffa\n", "a\nb\n", "\ufeffa\nb\n"),
        ("\ufeffa\r\n", "a\nb\n", "\ufeffa\r\nb\r\n"),
        ("a\r\nb\n", "a\nb\n", "a\r\nb\n"),  # unchanged: the file as it was, mixed or not
        ("a", "a\n", "a\n"),
    ],
)
def test_source_text_round_trip(original: str, edited: str, written: str) -> None:
    source = SourceText.parse(original)
    assert "\r" not in source.text
    assert not source.text.startswith("\ufeff")
    assert source.restore(edited) == written
