"""The index client against a real HTTP server on loopback: only a 404 means "not published"."""

from __future__ import annotations

import time

import pytest
from packaging.version import Version

from spaps_cli.errors import UsageError
from spaps_cli.release.index import LookupStatus, lookup, normalise_name, project_url, resolve_index

from .conftest import SIMPLE_JSON, IndexServer


def test_json_api_lists_every_version_including_prereleases_and_yanked(
    index_server: IndexServer,
) -> None:
    result = lookup("demo-pkg", index=index_server.url, timeout=5)
    assert result.status is LookupStatus.FOUND
    assert result.versions == {
        Version(v) for v in ["0.9", "1.0.0", "1.1.0", "1.2.0rc1", "1.2.0", "1.3.0b1"]
    }
    assert result.highest == Version("1.3.0b1")
    assert result.highest_final == Version("1.2.0")
    assert result.yanked == {Version("1.2.0")}
    assert result.ignored == ["2004d"]


def test_names_are_normalised_in_the_url(index_server: IndexServer) -> None:
    result = lookup("Demo_Pkg", index=index_server.url, timeout=5)
    assert result.status is LookupStatus.FOUND
    assert index_server.requests[-1][0] == "/pypi/demo-pkg/json"


def test_simple_api_gives_the_same_answer(index_server: IndexServer) -> None:
    result = lookup("demo-pkg", index=f"{index_server.url}/simple/", timeout=5)
    assert result.status is LookupStatus.FOUND
    assert result.highest == Version("1.3.0b1")
    assert result.yanked == {Version("1.2.0")}
    assert Version("0.9") in result.versions  # PEP 700 "versions" with no files left
    path, accept = index_server.requests[-1]
    assert path == "/simple/demo-pkg/"
    assert accept == SIMPLE_JSON


def test_404_is_not_found(index_server: IndexServer) -> None:
    assert (
        lookup("never-uploaded", index=index_server.url, timeout=5).status is LookupStatus.NOT_FOUND
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("broken", "HTTP 500"),
        ("garbage", "not JSON"),
        ("wrong-shape", "unexpected JSON"),
    ],
)
def test_server_trouble_is_unverifiable(index_server: IndexServer, name: str, reason: str) -> None:
    result = lookup(name, index=index_server.url, timeout=5)
    assert result.status is LookupStatus.UNVERIFIABLE
    assert reason in result.reason


def test_a_hanging_index_times_out_quickly(index_server: IndexServer) -> None:
    started = time.monotonic()
    result = lookup("slow", index=index_server.url, timeout=0.3)
    assert result.status is LookupStatus.UNVERIFIABLE
    assert "timed out" in result.reason
    assert time.monotonic() - started < 3


def test_refused_connection_is_unverifiable() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = lookup("demo-pkg", index=f"http://127.0.0.1:{port}", timeout=2)
    assert result.status is LookupStatus.UNVERIFIABLE
    assert "ConnectError" in result.reason


def test_unresolvable_host_is_unverifiable() -> None:
    result = lookup("demo-pkg", index="http://no-such-host.invalid", timeout=2)
    assert result.status is LookupStatus.UNVERIFIABLE


def test_aliases_and_urls() -> None:
    assert resolve_index(None) == "https://pypi.org"
    assert resolve_index("testpypi") == "https://test.pypi.org"
    assert project_url("https://pypi.org/", "Spaps.CLI") == "https://pypi.org/pypi/spaps-cli/json"
    assert project_url("https://x.example/simple/", "a_b") == "https://x.example/simple/a-b/"
    assert normalise_name("A__b.C") == "a-b-c"


def test_timeout_is_a_deadline_for_the_whole_answer(index_server: IndexServer) -> None:
    """Each read of a dripping index is quick; the whole answer would take over a minute."""
    started = time.monotonic()
    result = lookup("drip", index=index_server.url, timeout=1)
    elapsed = time.monotonic() - started
    assert result.status is LookupStatus.UNVERIFIABLE
    assert result.reason == "timed out after 1s"
    assert elapsed < 2.5


def test_a_versions_field_that_is_not_a_list_is_unverifiable(index_server: IndexServer) -> None:
    result = lookup("versions-string", index=f"{index_server.url}/simple", timeout=5)
    assert result.status is LookupStatus.UNVERIFIABLE
    assert "'versions' is not a list" in result.reason
    assert not result.versions


@pytest.mark.parametrize(
    ("index", "timeout", "message"),
    [
        ("http://[::1", 5.0, "--index 'http://[::1' is not a valid URL"),
        ("ftp://files.example", 5.0, "is not an http(s) URL"),
        ("pypi.org", 5.0, "is not an http(s) URL"),
        (None, float("nan"), "--timeout nan is not a positive number"),
        (None, float("inf"), "--timeout inf is not a positive number"),
        (None, 0.0, "--timeout 0 is not a positive number"),
        (None, -1.0, "--timeout -1 is not a positive number"),
    ],
)
def test_bad_index_or_timeout_is_a_usage_error(
    index: str | None, timeout: float, message: str
) -> None:
    with pytest.raises(UsageError) as raised:
        lookup("demo-pkg", index=index, timeout=timeout)
    assert message in raised.value.message
