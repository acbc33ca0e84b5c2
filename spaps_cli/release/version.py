"""PEP 440 rules and the bump algorithm, on ``packaging.version.Version`` objects.

Versions are compared as objects, never as strings: ``1.10.0 > 1.9.0`` and ``1.2.4rc1 < 1.2.4``
only hold for objects. Every bump starts from ``max(local, published)`` so a release can never go
backwards, whatever the local file says (none of the common bump tools asks the index).

Pre-release rules, after commitizen's "linear" mode and hatchling's ``standard`` scheme:

* the phase never goes down (``a < b < rc``): asking for ``a`` on ``1.3.0b2`` gives ``1.3.0b3``;
* ``patch``/``minor``/``major`` on a pre-release of exactly that kind of release finalises it
  (``1.3.0rc1`` + ``minor`` -> ``1.3.0``; ``1.3.1rc1`` + ``minor`` -> ``1.4.0``);
* ``prerelease`` on a final ``X.Y.Z`` gives ``X.Y.(Z+1)rc0``; on a pre-release it counts up;
* a post-release of a pre-release is still a pre-release (``1.0.0rc1.post1`` sorts before
  ``1.0.0``): ``patch`` gives ``1.0.0``, ``prerelease`` gives ``1.0.0rc2``. A post-release of a
  final (``1.0.0.post1``, ``1.0.0.post1.dev0``) comes after ``1.0.0`` and bumps like ``1.0.0``;
* ``--dev`` makes the result a ``.devN`` release of what the bump would otherwise give.

Releases with more than three numbers (``1.2.3.4``): ``major``/``minor``/``patch`` move the
first three and drop the rest (``1.2.3.4`` + ``patch`` -> ``1.2.4``), and "of exactly that kind"
looks at every number: ``1.2.3.4rc1`` is finalised by ``patch`` (the smallest bump) to
``1.2.3.4``, but is not a pre-release of a minor or major release, so ``minor`` gives ``1.3.0``
and ``1.0.0.1rc1`` + ``major`` gives ``2.0.0``. ``prerelease`` on a pre-release keeps its whole
release (``1.2.3.4rc1`` -> ``1.2.3.4rc2``).

Release series (``major.minor``): ``patch`` and ``prerelease`` stay in a series. When the index
is ahead in *another* series (local ``1.1.0``, index ``2.0.0rc1``), computing from the index's
version would turn a patch into ``2.0.0``: refused, with the two ways out (an explicit version,
or a declared maintenance series). With a maintenance series declared (``[tool.spaps.release]
series = "1.1"`` or ``--series 1.1``) the bump starts from ``max(local, highest published in
1.1)`` instead, so ``1.1.1`` after ``2.0.0`` is an ordinary, checked release, not a ``--force``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from spaps_cli.errors import UsageError

if TYPE_CHECKING:
    from packaging.version import Version


class BumpKind(StrEnum):
    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"
    PRERELEASE = "prerelease"


class PrePhase(StrEnum):
    ALPHA = "a"
    BETA = "b"
    RC = "rc"


#: Order of the pre-release phases; the phase of a version never moves left.
PHASE_ORDER: tuple[str, ...] = ("a", "b", "rc")
_SERIES = re.compile(r"^(\d+)\.(\d+)$")

#: A release series: (epoch, major, minor). ``1.1.0``, ``1.1.7`` and ``1.1.8rc1`` share one.
Series = tuple[int, int, int]


class VersionOrderError(UsageError):
    """The requested version is not newer than what is already local or published."""


class SeriesMismatchError(UsageError):
    """The local version is not in the declared maintenance series."""


class PublishedVersionError(UsageError):
    """The requested version is already on the index (possibly yanked): it can never be reused."""


@dataclass(frozen=True)
class BumpResult:
    new: Version
    base: Version  # max(local, published): what the bump was computed from
    notes: list[str] = field(default_factory=list)  # rule applications worth telling the user
    forced: bool = False  # the ordering check was overridden by --force


#: Longest number accepted in a version (a timestamp such as 202612051234 has 12 digits).
#: ``packaging`` turns each number into an ``int``; past 4,300 digits Python refuses that
#: with a ``ValueError`` that is not ``InvalidVersion``, and far below it nothing is a real
#: version.
MAX_VERSION_DIGITS = 30
#: Longest version text accepted at all.
MAX_VERSION_LENGTH = 200
_DIGIT_RUN = re.compile(rf"\d{{{MAX_VERSION_DIGITS + 1},}}")


def pep440(text: str) -> Version:
    """``packaging.version.Version(text)``, except that absurd input is ``InvalidVersion`` too.

    Every version the CLI reads from a file, an argument or the index goes through here, so
    a 10,000-digit version is an invalid version, never a traceback.
    """
    from packaging.version import InvalidVersion, Version

    if len(text) > MAX_VERSION_LENGTH:
        raise InvalidVersion(f"longer than {MAX_VERSION_LENGTH} characters")
    if _DIGIT_RUN.search(text):
        raise InvalidVersion(f"a number with more than {MAX_VERSION_DIGITS} digits")
    try:
        return Version(text)
    except InvalidVersion:
        raise
    except ValueError as exc:  # pragma: no cover - guarded by the checks above
        raise InvalidVersion(str(exc)) from None


def shown_version(text: str) -> str:
    """``text`` short enough for a one-line message (a 10,000-digit version is cut)."""
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({len(text)} characters)"


def parse_version(text: str, *, where: str = "version") -> Version:
    """Parse ``text`` as PEP 440 (``1.2.4-rc.1`` is accepted and means ``1.2.4rc1``)."""
    from packaging.version import InvalidVersion

    try:
        return pep440(text.strip())
    except InvalidVersion as exc:
        raise UsageError(
            f"{where} {shown_version(text)!r} is not a valid PEP 440 version",
            hint="use a version such as 1.2.3, 1.2.4rc1, 2.0.0.dev0 or 1!1.0",
        ) from exc


def is_normalised(text: str) -> bool:
    """True when ``text`` is already written the way PEP 440 normalises it."""
    from packaging.version import InvalidVersion

    try:
        return str(pep440(text)) == text
    except InvalidVersion:
        return False


def release_triple(version: Version) -> tuple[int, int, int]:
    """The first three release numbers (``1.2`` reads as ``1.2.0``), which the bump kinds move."""
    padded = (*version.release, 0, 0)[:3]
    return padded[0], padded[1], padded[2]


def series_of(version: Version) -> Series:
    major, minor, _ = release_triple(version)
    return version.epoch, major, minor


def format_series(series: Series) -> str:
    epoch, major, minor = series
    return f"{epoch}!{major}.{minor}" if epoch else f"{major}.{minor}"


def parse_series(text: str, *, where: str) -> Series:
    """``"1.1"`` -> ``(0, 1, 1)``; anything but ``MAJOR.MINOR`` (with an optional epoch) is refused."""
    epoch_text, _, rest = text.strip().rpartition("!")
    match = _SERIES.match(rest)
    if match is None or (epoch_text and not epoch_text.isdigit()):
        raise UsageError(
            f"{where} {text!r} is not a release series",
            hint='write MAJOR.MINOR, e.g. series = "1.1" for the 1.1.x maintenance releases',
        )
    return int(epoch_text or 0), int(match[1]), int(match[2])


def declared_series(
    flag: str | None, configured: str | None, pyproject: str, local: Version
) -> Series | None:
    """The maintenance series from ``--series`` or else the config; it must hold ``local``."""
    if flag is not None:
        text, where = flag, "--series"
    elif configured is not None:
        text, where = configured, f"{pyproject} [tool.spaps.release] series"
    else:
        return None
    series = parse_series(text, where=where)
    if series_of(local) != series:
        raise SeriesMismatchError(
            f"the local version {local} is not in the declared maintenance series"
            f" {format_series(series)} ({where})",
            hint="set the version to the series' last release, or drop/correct the series",
        )
    return series


def highest_in_series(versions: frozenset[Version], series: Series) -> Version | None:
    return highest(*(v for v in versions if series_of(v) == series))


def highest(*versions: Version | None) -> Version | None:
    present = [v for v in versions if v is not None]
    return max(present) if present else None


def compute_bump(
    local: Version,
    published: Version | None,
    kind: BumpKind,
    *,
    pre: PrePhase | None = None,
    dev: bool = False,
) -> BumpResult:
    """Next version for ``kind``, computed from ``max(local, published)``."""
    base = highest(local, published) or local
    notes: list[str] = []
    if published is not None and published > local:
        stays = kind in {BumpKind.PATCH, BumpKind.PRERELEASE}
        if stays and series_of(published) != series_of(local):
            mine = format_series(series_of(local))
            raise VersionOrderError(
                f"{kind.value} on local {local} would start from the index's {published}, in"
                f" the {format_series(series_of(published))} series, and leave {mine}",
                hint=f"for a {mine}.x maintenance release pass --series {mine} (or set"
                f' [tool.spaps.release] series = "{mine}"); to move on, name the version:'
                " spaps release bump X.Y.Z",
            )
        notes.append(f"the index is ahead ({published} > local {local}): bumping from {published}")
    if kind is BumpKind.PRERELEASE:
        core = _next_prerelease(base, pre, notes)
    else:
        core = _next_release(base, kind, pre, notes, dev=dev)
    new = _with_dev(core, base) if dev else core
    if new <= base:  # the one guard every path shares
        if dev and core > base:
            raise VersionOrderError(
                f"{kind.value} --dev on {base} would give {new}, which is older: .dev releases"
                f" of {core} sort before its pre-releases",
                hint=f"drop --dev to release {core}, or use 'prerelease --dev'",
            )
        raise VersionOrderError(
            f"{kind.value} on {base} would give {new}, which is not newer",
            hint="pass the next version explicitly: spaps release bump X.Y.Z",
        )
    return BumpResult(new=new, base=base, notes=notes)


def check_explicit(
    local: Version,
    published: Version | None,
    requested: Version,
    *,
    published_versions: frozenset[Version] = frozenset(),
    force: bool = False,
) -> BumpResult:
    """Validate an explicit version: newer than ``max(local, published)`` unless ``force``."""
    if requested.local is not None:
        raise UsageError(
            f"{requested} has a local version label (+{requested.local})",
            hint="package indexes refuse local versions; drop the part after '+'",
        )
    if requested in published_versions:
        raise PublishedVersionError(
            f"{requested} is already on the index (files can never be re-uploaded, even yanked)",
            hint="choose a newer version",
        )
    base = highest(local, published) or local
    if requested > base:
        return BumpResult(new=requested, base=base)
    what = f"published {published}" if published is not None and published >= local else "local"
    if not force:
        raise VersionOrderError(
            f"{requested} is not newer than {base} ({what}): versions never go backwards",
            hint="pick a higher version, or --force for a deliberate back-port release",
        )
    return BumpResult(
        new=requested,
        base=base,
        notes=[f"--force: {requested} is not newer than {base} ({what})"],
        forced=True,
    )


def _next_release(
    base: Version, kind: BumpKind, pre: PrePhase | None, notes: list[str], *, dev: bool
) -> Version:
    major, minor, micro = release_triple(base)
    own = _own_release(base)
    if kind is BumpKind.MAJOR:
        target, matches = (major + 1, 0, 0), not any(own[1:])
    elif kind is BumpKind.MINOR:
        target, matches = (major, minor + 1, 0), not any(own[2:])
    else:
        target, matches = (major, minor, micro + 1), True
    if _precedes_own_release(base) and matches:
        # 1.3.0rc1 is a pre-release *of* 1.3.0: a minor bump finishes it instead of skipping it.
        if pre is None:
            final = _build(base.epoch, own)
            if dev:  # the result is final.devN, which finalises nothing
                notes.append(
                    f"{base} is a pre-release of {final}: --dev gives a .dev release of {final}"
                    " instead of finalising it"
                )
            else:
                notes.append(f"{base} is a pre-release of {final}: finalising it")
            return final
        return _build(base.epoch, own, _advance_phase(base, pre, notes))
    if pre is None:
        return _build(base.epoch, target)
    return _build(base.epoch, target, (pre.value, 0))


def _next_prerelease(base: Version, pre: PrePhase | None, notes: list[str]) -> Version:
    major, minor, micro = release_triple(base)
    if not _precedes_own_release(base):
        phase = (pre or PrePhase.RC).value
        return _build(base.epoch, (major, minor, micro + 1), (phase, 0))
    own = _own_release(base)
    if base.pre is None:  # a bare dev release such as 1.3.0.dev2: its first pre-release
        return _build(base.epoch, own, ((pre or PrePhase.RC).value, 0))
    return _build(base.epoch, own, _advance_phase(base, pre, notes))


def _precedes_own_release(version: Version) -> bool:
    """True when ``version`` sorts before its own release (``1.0.0rc1.post1`` < ``1.0.0``).

    A pre-release stays one with ``.postN``/``.devN`` added; a ``.dev`` of the release itself
    (``1.0.0.dev2``) precedes it too, but a ``.dev`` of a post-release (``1.0.0.post1.dev0``)
    comes after ``1.0.0``. ``Version.is_prerelease`` is not this test: it is true for the last.
    """
    return version.pre is not None or (version.dev is not None and version.post is None)


def _own_release(version: Version) -> tuple[int, ...]:
    """Every release number of ``version``, padded to three (``1.3rc1`` is of ``1.3.0``)."""
    release = version.release
    return (*release, 0, 0)[: max(3, len(release))]


def _advance_phase(base: Version, pre: PrePhase | None, notes: list[str]) -> tuple[str, int]:
    """Next (phase, number) after ``base``'s pre-release, never moving the phase down."""
    if base.pre is None:
        return ((pre or PrePhase.RC).value, 0)
    phase, number = base.pre
    wanted = pre.value if pre is not None else phase
    if PHASE_ORDER.index(wanted) > PHASE_ORDER.index(phase):
        return (wanted, 0)
    if PHASE_ORDER.index(wanted) < PHASE_ORDER.index(phase):
        notes.append(f"the pre-release phase never goes down: staying on {phase} (asked {wanted})")
    if base.dev is not None and base.post is None:  # 1.3.0rc1.dev2 comes before 1.3.0rc1
        return (phase, number)
    return (phase, number + 1)


def _with_dev(core: Version, base: Version) -> Version:
    """``core`` as a dev release: the next ``.devN`` when ``base`` is already one of it."""
    from packaging.version import Version

    if base.dev is not None and _without_dev(base) == core:
        return Version(f"{core}.dev{base.dev + 1}")
    return Version(f"{core}.dev0")


def _without_dev(version: Version) -> Version:
    from packaging.version import Version

    text = version.public
    return Version(text.rsplit(".dev", 1)[0]) if version.dev is not None else Version(text)


def _build(epoch: int, release: tuple[int, ...], pre: tuple[str, int] | None = None) -> Version:
    from packaging.version import Version

    text = ".".join(str(part) for part in release)
    if epoch:
        text = f"{epoch}!{text}"
    if pre is not None:
        text += f"{pre[0]}{pre[1]}"
    return Version(text)
