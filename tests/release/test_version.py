"""The bump rules as a table: (local, published, kind, --pre, --dev) -> expected new version."""

from __future__ import annotations

import pytest
from packaging.version import Version

from spaps_cli.errors import UsageError
from spaps_cli.release.version import (
    BumpKind,
    PrePhase,
    PublishedVersionError,
    VersionOrderError,
    check_explicit,
    compute_bump,
    is_normalised,
    parse_version,
)

M, MI, P, PR = BumpKind.MAJOR, BumpKind.MINOR, BumpKind.PATCH, BumpKind.PRERELEASE
A, B, RC = PrePhase.ALPHA, PrePhase.BETA, PrePhase.RC

BUMPS = [
    # finals
    ("1.2.3", None, P, None, False, "1.2.4"),
    ("1.2.3", None, MI, None, False, "1.3.0"),
    ("1.2.3", None, M, None, False, "2.0.0"),
    ("1.2", None, P, None, False, "1.2.1"),
    ("1.9.0", None, MI, None, False, "1.10.0"),
    ("1.2.3.post2", None, P, None, False, "1.2.4"),
    # prerelease on a final -> X.Y.(Z+1)rc0; --pre picks the phase
    ("1.2.3", None, PR, None, False, "1.2.4rc0"),
    ("1.2.3", None, PR, A, False, "1.2.4a0"),
    ("1.2.3", None, MI, B, False, "1.3.0b0"),
    ("1.2.3", None, M, RC, False, "2.0.0rc0"),
    # prerelease counts up; the phase goes up, never down
    ("1.2.4rc0", None, PR, None, False, "1.2.4rc1"),
    ("1.2.4a3", None, PR, B, False, "1.2.4b0"),
    ("1.2.4b2", None, PR, A, False, "1.2.4b3"),
    ("1.2.4b2", None, PR, B, False, "1.2.4b3"),
    ("1.3.0a1", None, MI, RC, False, "1.3.0rc0"),
    ("1.3.0rc1", None, MI, A, False, "1.3.0rc2"),
    # patch|minor|major on a matching pre-release finalises it
    ("1.2.4rc1", None, P, None, False, "1.2.4"),
    ("1.3.0rc1", None, MI, None, False, "1.3.0"),
    ("2.0.0b1", None, M, None, False, "2.0.0"),
    ("1.3.0rc1", None, P, None, False, "1.3.0"),
    # a post-release of a pre-release is still a pre-release of that release
    ("1.0.0rc1.post1", None, P, None, False, "1.0.0"),
    ("1.3.0rc1.post2", None, MI, None, False, "1.3.0"),
    ("1.3.0rc1.post2", None, MI, RC, False, "1.3.0rc2"),
    ("1.0.0rc1.post1", None, PR, None, False, "1.0.0rc2"),
    ("1.0.0rc1.post1.dev0", None, PR, None, False, "1.0.0rc2"),
    ("1.0.0rc1.post1", None, PR, None, True, "1.0.0rc2.dev0"),
    # ... but a post-release of a final (even its .dev) comes after the final
    ("1.2.3.post1.dev0", None, P, None, False, "1.2.4"),
    ("1.2.3.post1.dev0", None, PR, None, False, "1.2.4rc0"),
    # ... and moves on when it does not match
    ("1.3.1rc1", None, MI, None, False, "1.4.0"),
    ("1.3.0rc1", None, M, None, False, "2.0.0"),
    # dev releases
    ("1.2.3", None, P, None, True, "1.2.4.dev0"),
    ("1.2.4.dev0", None, P, None, True, "1.2.4.dev1"),
    ("1.2.4.dev3", None, P, None, False, "1.2.4"),
    ("1.2.4.dev3", None, PR, None, False, "1.2.4rc0"),
    ("1.2.4rc1.dev2", None, PR, None, False, "1.2.4rc1"),
    ("1.2.4rc1.dev2", None, PR, None, True, "1.2.4rc1.dev3"),
    ("1.2.3", None, PR, None, True, "1.2.4rc0.dev0"),
    # epochs are kept and compared
    ("1!1.2.3", None, P, None, False, "1!1.2.4"),
    ("1!1.0.0", None, M, None, False, "1!2.0.0"),
    # more than three release numbers: the bumps move the first three, and only patch
    # finalises a pre-release of such a release (it is no pre-release of a minor or major)
    ("1.2.3.4", None, P, None, False, "1.2.4"),
    ("1.2.3.4rc1", None, P, None, False, "1.2.3.4"),
    ("1.2.3.4rc1", None, PR, None, False, "1.2.3.4rc2"),
    ("1.2.3.4rc1", None, MI, None, False, "1.3.0"),
    ("1.0.0.1rc1", None, M, None, False, "2.0.0"),
    ("1.2.0.0rc1", None, MI, None, False, "1.2.0.0"),
    ("1.2.3.4.dev1", None, PR, None, False, "1.2.3.4rc0"),
    # the index is ahead: the bump starts from the published version (a patch or prerelease
    # only inside the local series: see test_patch_never_leaves_the_series)
    ("1.2.0", "1.2.3", P, None, False, "1.2.4"),
    ("1.3.0a1", "1.3.0b1", PR, None, False, "1.3.0b2"),
    ("1.0.0", "1.3.0b1", MI, None, False, "1.3.0"),
    ("1.0.0", "1.2.0", M, None, False, "2.0.0"),
    ("1.0.0", "1!0.1", MI, None, False, "1!0.2.0"),
    # the local version is ahead: the index changes nothing
    ("2.0.0", "1.9.9", P, None, False, "2.0.1"),
]


@pytest.mark.parametrize(("local", "published", "kind", "pre", "dev", "expected"), BUMPS)
def test_bump_table(
    local: str,
    published: str | None,
    kind: BumpKind,
    pre: PrePhase | None,
    dev: bool,
    expected: str,
) -> None:
    result = compute_bump(
        Version(local), Version(published) if published else None, kind, pre=pre, dev=dev
    )
    assert str(result.new) == expected
    assert result.new > result.base
    assert result.base == max(Version(local), Version(published or local))


@pytest.mark.parametrize(
    ("local", "published", "kind"),
    [
        ("1.1.0", "2.0.0rc1", P),  # used to give 2.0.0 final
        ("1.1.0", "2.0.0rc1", PR),
        ("1.0.0", "1.2.0", P),
        ("1.0.0", "1.3.0b1", PR),
        ("1.0.0", "1!0.1", P),  # another epoch is another series
    ],
)
def test_patch_never_leaves_the_series(local: str, published: str, kind: BumpKind) -> None:
    with pytest.raises(VersionOrderError) as caught:
        compute_bump(Version(local), Version(published), kind)
    assert f"--series {Version(local).major}.{Version(local).minor}" in (caught.value.hint or "")


def test_finalising_is_noted() -> None:
    result = compute_bump(Version("1.0.0rc1.post1"), None, P)
    assert result.notes == ["1.0.0rc1.post1 is a pre-release of 1.0.0: finalising it"]


def test_a_dev_bump_of_a_pre_release_does_not_claim_to_finalise_it() -> None:
    """``patch --dev`` on ``1.2.4.dev3`` gives ``1.2.4.dev4``: nothing is finalised."""
    result = compute_bump(Version("1.2.4.dev3"), None, P, dev=True)
    assert str(result.new) == "1.2.4.dev4"
    assert result.notes == [
        "1.2.4.dev3 is a pre-release of 1.2.4: --dev gives a .dev release of 1.2.4"
        " instead of finalising it"
    ]


def test_phase_going_down_is_explained() -> None:
    result = compute_bump(Version("1.2.4b2"), None, PR, pre=A)
    assert any("never goes down" in note for note in result.notes)


EXPLICIT = [
    ("1.2.3", None, "1.2.4", "1.2.4"),
    ("1.2.3", None, "1.2.4-rc.1", "1.2.4rc1"),
    ("1.2.3", None, "v2.0", "2.0"),
    ("1.2.3", "1.5.0", "1.5.1.dev0", "1.5.1.dev0"),
    ("1.2.3", None, "1!0.1", "1!0.1"),
]


@pytest.mark.parametrize(("local", "published", "requested", "expected"), EXPLICIT)
def test_explicit_versions_are_normalised(
    local: str, published: str | None, requested: str, expected: str
) -> None:
    result = check_explicit(
        Version(local),
        Version(published) if published else None,
        parse_version(requested),
    )
    assert str(result.new) == expected


REFUSED = [
    ("1.2.3", None, "1.2.3"),  # equal to local
    ("1.2.3", None, "1.2.2"),  # lower than local
    ("1.2.3", None, "1.2.3rc1"),  # a pre-release of an already released version
    ("1.0.0", "1.2.0", "1.1.0"),  # local behind published: lower than the index
    ("1.0.0", "1.2.0", "1.2.0rc9"),
    ("1!0.1", None, "9.9.9"),  # epochs outrank everything
]


@pytest.mark.parametrize(("local", "published", "requested"), REFUSED)
def test_explicit_versions_never_go_backwards(
    local: str, published: str | None, requested: str
) -> None:
    with pytest.raises(VersionOrderError, match="not newer"):
        check_explicit(
            Version(local), Version(published) if published else None, Version(requested)
        )


def test_force_allows_a_backport_with_a_note() -> None:
    result = check_explicit(Version("1.0.0"), Version("1.2.0"), Version("1.1.1"), force=True)
    assert str(result.new) == "1.1.1"
    assert result.forced
    assert "--force" in result.notes[0]


def test_a_published_version_is_refused_even_with_force() -> None:
    with pytest.raises(PublishedVersionError, match="already on the index"):
        check_explicit(
            Version("1.0.0"),
            Version("1.2.0"),
            Version("1.1.0"),
            published_versions=frozenset({Version("1.1.0"), Version("1.2.0")}),
            force=True,
        )


def test_local_labels_are_refused() -> None:
    with pytest.raises(UsageError, match="local version label"):
        check_explicit(Version("1.0.0"), None, Version("1.0.1+build.5"))


@pytest.mark.parametrize("text", ["", "1.2.x", "one", "1.2.3-", "1..2", "latest", "1.0.0-rc.1.2.3"])
def test_invalid_strings_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError, match="not a valid PEP 440 version"):
        parse_version(text)


def test_normalisation_is_detected() -> None:
    assert is_normalised("1.2.4rc1")
    assert not is_normalised("1.2.4-rc.1")
    assert not is_normalised("nonsense")


def test_a_dev_release_that_would_go_backwards_is_explained() -> None:
    """.dev releases of 1.0.0 sort before 1.0.0rc1, so ``patch --dev`` has nowhere to go."""
    with pytest.raises(VersionOrderError) as caught:
        compute_bump(Version("1.0.0rc1.dev0"), None, P, dev=True)
    assert caught.value.message == (
        "patch --dev on 1.0.0rc1.dev0 would give 1.0.0.dev0, which is older: .dev releases"
        " of 1.0.0 sort before its pre-releases"
    )
    assert caught.value.hint == "drop --dev to release 1.0.0, or use 'prerelease --dev'"
