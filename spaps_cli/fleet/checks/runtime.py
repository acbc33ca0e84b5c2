"""Runtime family: the pinned and the installed ``spaps-server-quickstart`` against the matrix."""

from __future__ import annotations

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from spaps_cli.fleet.compat import CLIENT_DISTRIBUTION, RUNTIME_DISTRIBUTION, format_range
from spaps_cli.fleet.findings import DoctorContext, Finding, check
from spaps_cli.fleet.runtime_origin import check_runtime_origin
from spaps_cli.project import Project

_UPPER_BOUND_OPERATORS = frozenset({"<", "<=", "==", "~=", "==="})


def pinned_runtime(project: Project) -> Requirement | None:
    dependencies = project.document.get("project", {}).get("dependencies", [])
    for raw in dependencies:
        try:
            requirement = Requirement(str(raw))
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == RUNTIME_DISTRIBUTION:
            return requirement
    return None


def _has_upper_bound(spec: SpecifierSet) -> bool:
    return any(item.operator in _UPPER_BOUND_OPERATORS for item in spec)


def versions_outside(pin: SpecifierSet, allowed: SpecifierSet) -> list[Version]:
    """Versions the pin admits that the template's range does not (empty: the pin fits).

    Two specifier sets can only disagree near the versions they name, so the candidates are
    every version either set mentions, the release just below it (previous major, minor and
    patch, and ``0.0.0``), and the next patch, minor and major beyond it. ``>=0.1.0,<1.0``
    against ``>=0.1.0,<0.2`` is caught by 0.2.0, ``<0.2`` by 0.0.0, ``~=0.1`` by 0.2.0. Every
    version returned really is admitted by the pin and refused by the range, so the rule never
    reports a pin that fits; an exotic pin could slip through, never a wrong finding.
    """
    named: set[Version] = set()
    for item in (*pin, *allowed):
        try:
            named.add(Version(item.version.removesuffix(".*")))
        except InvalidVersion:
            continue  # '===' with an arbitrary string: nothing to compare against
    candidates: set[Version] = {Version("0.0.0")}
    for version in named:
        major, minor, micro = (*version.release, 0, 0)[:3]
        candidates |= {
            version,
            Version(f"{major}.{minor}.{micro + 1}"),
            Version(f"{major}.{minor + 1}.0"),
            Version(f"{major + 1}.0.0"),
            Version(f"{max(major - 1, 0)}.0.0"),
            Version(f"{major}.{max(minor - 1, 0)}.0"),
            Version(f"{major}.{minor}.{max(micro - 1, 0)}"),
        }
    return sorted(
        version
        for version in candidates
        if pin.contains(version, prereleases=True)
        and not allowed.contains(version, prereleases=True)
    )


def _template(context: DoctorContext) -> str:
    return str(context.project.spaps.get("template-version", ""))


@check("runtime")
def runtime_origin(context: DoctorContext) -> list[Finding]:
    """First of the family: every other runtime finding assumes the runtime is this project's."""
    return check_runtime_origin(context.probe)


@check("runtime")
def runtime_pin(context: DoctorContext) -> list[Finding]:
    """The template version is known and the pin admits exactly the runtimes it was made for."""
    matrix = context.matrix
    template = _template(context)
    allowed = matrix.runtime_range(template)
    if allowed is None:
        known = ", ".join(matrix.template_versions())
        return [
            Finding(
                "runtime.template-unknown",
                "error",
                f"template-version {template or '(missing)'} is not in the compatibility matrix"
                f" (known: {known})",
                "upgrade the spaps CLI (a newer CLI knows newer templates), or fix"
                " [tool.spaps] template-version",
            )
        ]
    wanted = f"{RUNTIME_DISTRIBUTION}{format_range(allowed)}"
    pin = pinned_runtime(context.project)
    if pin is None:
        return [
            Finding(
                "runtime.not-pinned",
                "error",
                f"pyproject.toml does not depend on {RUNTIME_DISTRIBUTION}",
                f'add "{wanted}" to [project] dependencies',
            )
        ]
    supported = matrix.supported_runtimes(template)
    allowed_by_pin = [version for version in supported if pin.specifier.contains(version)]
    listed = [
        runtime.version
        for runtime in matrix.runtimes
        if pin.specifier.contains(runtime.version) and not allowed.contains(runtime.version)
    ]
    outside = listed or versions_outside(pin.specifier, allowed)[:3]
    if not allowed_by_pin:
        return [
            Finding(
                "runtime.pin-unsupported",
                "error",
                f"the pin {pin} allows no supported runtime"
                f" (template {template} supports {format_range(allowed)})",
                f'change the dependency to "{wanted}"',
            )
        ]
    if outside or not _has_upper_bound(pin.specifier):
        reason = (
            f"allows {', '.join(map(str, outside))} outside {format_range(allowed)}"
            if outside
            else "has no upper bound, so the next breaking runtime release installs"
        )
        return [
            Finding(
                "runtime.pin-too-wide",
                "error",
                f"the pin {pin} {reason}",
                f'change the dependency to "{wanted}"',
            )
        ]
    return []


@check("runtime")
def pgvector_extra(context: DoctorContext) -> list[Finding]:
    """A service that opted into pgvector (``spaps new service --pgvector``) needs the extra."""
    answers = context.project.spaps.get("answers", {})
    if not (isinstance(answers, dict) and answers.get("pgvector")):
        return []
    if context.matrix.runtime_range(_template(context)) is None:
        return []
    pin = pinned_runtime(context.project)
    probe = context.probe
    findings: list[Finding] = []
    if pin is not None and "pgvector" not in pin.extras:
        findings.append(
            Finding(
                "runtime.pgvector-extra",
                "error",
                f"the service uses pgvector but the pin {pin} lacks the pgvector extra",
                "add pgvector to the extras: spaps-server-quickstart[...,pgvector]",
            )
        )
    if "probe_error" not in probe and probe.get("pgvector_installed") is False:
        findings.append(
            Finding(
                "runtime.pgvector-missing",
                "error",
                f"the service uses pgvector but it is not installed in {probe.get('python')}",
                "reinstall the service's dependencies (pip install -e .)",
            )
        )
    return findings


@check("runtime")
def installed_runtime(context: DoctorContext) -> list[Finding]:
    """The runtime installed in the service's interpreter is supported and satisfies the pin."""
    matrix = context.matrix
    probe = context.probe
    template = _template(context)
    allowed = matrix.runtime_range(template)
    if allowed is None or "probe_error" in probe:
        return []  # reported by runtime_pin, or once by the settings family
    supported = matrix.supported_runtimes(template)
    wanted = f"{RUNTIME_DISTRIBUTION}{format_range(allowed)}"
    installed_text = probe.get("runtime_version")
    if not installed_text:
        python = probe.get("python", "the service's Python")
        return [
            Finding(
                "runtime.not-installed",
                "error",
                f"{RUNTIME_DISTRIBUTION} is not installed in {python}",
                "install the service (pip install -e .) in its environment, or pass --python",
            )
        ]
    findings: list[Finding] = []
    try:
        installed = Version(str(installed_text))
    except InvalidVersion:
        installed = Version("0")
    verdict = matrix.verdict(template, installed)
    if verdict.status == "unknown":
        # Inside the range the template was released for (else the verdict is "unsupported"):
        # a runtime release newer than this CLI's matrix, which follows SemVer inside the range.
        findings.append(
            Finding(
                "runtime.unknown",
                "warning",
                f"installed {RUNTIME_DISTRIBUTION} {installed} is inside the range"
                f" {format_range(allowed)} that template {template} supports, but this CLI's"
                " compatibility matrix does not list it yet",
                "upgrade the spaps CLI (a newer one lists newer runtime releases); nothing to"
                " change in the service",
                fails=False,
            )
        )
    elif verdict.status == "deprecated":
        findings.append(
            Finding(
                "runtime.deprecated",
                "warning",
                f"installed {verdict.reason}",
                f"upgrade to {supported[0]}" if supported else "upgrade the runtime",
            )
        )
    elif not verdict.ok:
        findings.append(
            Finding(
                f"runtime.{verdict.status}",
                "error",
                f"installed {RUNTIME_DISTRIBUTION} {installed}: {verdict.reason}",
                f'pip install "{RUNTIME_DISTRIBUTION}=={supported[0]}"'
                if supported
                else f'pip install "{wanted}"',
            )
        )
    pin = pinned_runtime(context.project)
    if pin is not None and not pin.specifier.contains(installed, prereleases=True):
        findings.append(
            Finding(
                "runtime.pin-mismatch",
                "error",
                f"installed {RUNTIME_DISTRIBUTION} {installed} does not satisfy the pin {pin}",
                "reinstall the service's dependencies (pip install -e .)",
            )
        )
    return findings


@check("runtime")
def spaps_client(context: DoctorContext) -> list[Finding]:
    """The official ``spaps`` client installed next to the runtime is one that runtime release
    was tested with: the runtime's auth is built on it, and a client outside that range can
    turn every authenticated request into a 503."""
    probe = context.probe
    if "probe_error" in probe or not probe.get("runtime_version"):
        return []  # reported by installed_runtime / the settings family
    try:
        release = context.matrix.runtime(Version(str(probe["runtime_version"])))
    except InvalidVersion:
        return []
    if release is None or not str(release.client):
        return []  # an unknown runtime is its own finding; a row without a range checks nothing
    tested = format_range(release.client)
    wanted = f'pip install "{CLIENT_DISTRIBUTION}{tested}"'
    installed_text = probe.get("client_version")
    if not installed_text:
        return [
            Finding(
                "runtime.client-missing",
                "error",
                f"the {CLIENT_DISTRIBUTION} client is not installed in {probe.get('python')},"
                f" though {RUNTIME_DISTRIBUTION} {release.version} needs it",
                wanted,
            )
        ]
    try:
        installed = Version(str(installed_text))
    except InvalidVersion:
        installed = Version("0")
    if release.client.contains(installed, prereleases=True):
        return []
    return [
        Finding(
            "runtime.client-unsupported",
            "error",
            f"installed {CLIENT_DISTRIBUTION} {installed} is outside {tested}, the client"
            f" releases {RUNTIME_DISTRIBUTION} {release.version} was tested with",
            wanted,
        )
    ]
