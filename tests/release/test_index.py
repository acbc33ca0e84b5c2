"""The index client against a real HTTP server on loopback: only a 404 means "not published"."""

from __future__ import annotations

import time

import pytest
from packaging.version import Version

from spaps_cli.errors import UsageError
from spaps_cli.release.dist_files import version_of_file
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
    assert accept.startswith(SIMPLE_JSON)  # PEP 691 JSON first, PEP 503 HTML accepted


def test_404_is_not_found(index_server: IndexServer) -> None:
    assert (
        lookup("never-uploaded", index=index_server.url, timeout=5).status is LookupStatus.NOT_FOUND
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("broken", "HTTP 500"),
        ("garbage", "not JSON"),
        ("wrong-shape", "unexpected page"),
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


# --------------------------------------------------------------------------- proof of absence


@pytest.mark.parametrize("base", ["", "/simple", "/html/simple"])
def test_a_404_from_a_proven_index_is_not_found(index_server: IndexServer, base: str) -> None:
    result = lookup("never-uploaded", index=f"{index_server.url}{base}", timeout=5)
    assert result.status is LookupStatus.NOT_FOUND, result.reason


def test_an_index_without_pip_is_proven_by_another_reference(index_server: IndexServer) -> None:
    result = lookup("never-uploaded", index=f"{index_server.url}/no-pip", timeout=5)
    assert result.status is LookupStatus.NOT_FOUND, result.reason
    asked = [path for path, _ in index_server.requests[-3:]]
    assert asked == [
        "/no-pip/pypi/never-uploaded/json",
        "/no-pip/pypi/pip/json",
        "/no-pip/pypi/setuptools/json",
    ]


@pytest.mark.parametrize(
    "base",
    [
        "/legacy",  # the upload endpoint, not an index
        "/pypi",  # JSON API base with the path doubled
        "/root/pypi/+simple",  # devpi layout on a server that is not devpi
        "/simpel",  # a typo
        "/packages/simple",  # a path that does not exist
    ],
)
@pytest.mark.parametrize("name", ["never-uploaded", "demo-pkg"])
def test_a_404_from_a_wrong_base_path_is_unverifiable(
    index_server: IndexServer, base: str, name: str
) -> None:
    """The same index at the right path has demo-pkg 1.3.0b1: "first release" would be a lie."""
    result = lookup(name, index=f"{index_server.url}{base}", timeout=5)
    assert result.status is LookupStatus.UNVERIFIABLE
    assert "check the --index URL" in result.reason


@pytest.mark.parametrize("name", ["never-uploaded", "demo-pkg"])
def test_a_redirect_that_ends_in_a_404_is_unverifiable(
    index_server: IndexServer, name: str
) -> None:
    """/moved/simple is an index (its root redirects to one), but projects go to a dead path."""
    result = lookup(name, index=f"{index_server.url}/moved/simple", timeout=5)
    assert result.status is LookupStatus.UNVERIFIABLE
    assert "redirected to" in result.reason
    assert "/simple/gone/" in result.reason


def test_an_html_only_index_is_read_as_pip_reads_it(index_server: IndexServer) -> None:
    result = lookup("demo-pkg", index=f"{index_server.url}/html/simple", timeout=5)
    assert result.status is LookupStatus.FOUND, result.reason
    assert result.versions == {
        Version(v) for v in ["1.0.0", "1.1.0", "1.2.0rc1", "1.2.0", "1.3.0b1"]
    }
    assert result.yanked == {Version("1.2.0")}


def test_simple_api_negotiates_html_when_the_server_prefers_it(index_server: IndexServer) -> None:
    """A server that ignores the JSON preference and sends HTML is still read."""
    result = lookup("legacy-files", index=f"{index_server.url}/html/simple", timeout=5)
    assert result.status is LookupStatus.FOUND


@pytest.mark.parametrize("base", ["/simple", "/html/simple"])
def test_versions_come_from_every_file_format(index_server: IndexServer, base: str) -> None:
    """.tar.bz2, .zip, .egg, .tgz with a dashed version, .exe and .msi: no PEP 700 list."""
    result = lookup("legacy-files", index=f"{index_server.url}{base}", timeout=5)
    assert result.status is LookupStatus.FOUND, result.reason
    assert result.versions == {Version(v) for v in ["1.0", "2.0", "2.5", "3.0rc1", "3.1"]}
    assert result.highest == Version("3.1")


def test_json_api_counts_info_version_when_releases_is_empty(index_server: IndexServer) -> None:
    result = lookup("info-only", index=index_server.url, timeout=5)
    assert result.status is LookupStatus.FOUND
    assert result.highest == Version("2.0.0")


@pytest.mark.parametrize("base", ["", "/simple"])
def test_deeply_nested_json_is_unverifiable(index_server: IndexServer, base: str) -> None:
    result = lookup("deep", index=f"{index_server.url}{base}", timeout=5)
    assert result.status is LookupStatus.UNVERIFIABLE
    assert "nested too deeply" in result.reason


def test_an_empty_index_is_a_usage_error() -> None:
    for empty in ("", "  "):
        with pytest.raises(UsageError) as raised:
            lookup("demo-pkg", index=empty, timeout=5)
        assert "--index is empty" in raised.value.message


@pytest.mark.parametrize("base", ["", "/legacy", "/simple"])
def test_credentials_in_the_index_url_are_never_shown(index_server: IndexServer, base: str) -> None:
    with_secret = index_server.url.replace("http://", "http://__token__:pypi-s3cr3t@")
    result = lookup("never-uploaded", index=f"{with_secret}{base}?key=qu3ry", timeout=5)
    shown = f"{result.url} {result.reason}"
    assert "s3cr3t" not in shown
    assert "__token__" not in shown
    assert "qu3ry" not in shown
    assert "***@127.0.0.1" in result.url


@pytest.mark.parametrize(
    ("filename", "version"),
    [
        ("demo_pkg-1.0-py3-none-any.whl", "1.0"),
        ("Demo.Pkg-1.0.tar.gz", "1.0"),
        ("demo-pkg-1.0-rc1.tar.gz", "1.0rc1"),
        ("demo__pkg-2.0.tar.bz2", "2.0"),
        ("demo-pkg-2.0.tbz", "2.0"),
        ("demo-pkg-2.0.tar.xz", "2.0"),
        ("demo-pkg-2.0.zip", "2.0"),
        ("demo_pkg-2.5-py2.7.egg", "2.5"),
        ("demo_pkg-2.5.egg", "2.5"),
        ("demo_pkg-3.1.win32-py2.7.exe", "3.1"),
        ("demo_pkg-3.1.win-amd64.msi", "3.1"),
        ("demo-pkg-extra-1.0.tar.gz", None),  # another project
        ("other-1.0.tar.gz", None),
        ("demo_pkg-1.0.rpm", None),  # no version pip reads
        ("demo-pkg-latest.tar.gz", None),
        ("demo_pkg-1.0-py3-none-any.whl.metadata", None),
    ],
)
def test_file_names(filename: str, version: str | None) -> None:
    assert version_of_file(filename, "demo-pkg") == version
