"""Is the installed ``spaps_server_quickstart`` this project's runtime, or someone else's?

The name ``spaps-server-quickstart`` also carries another distribution's releases on the public
index (0.1.0 to 0.9.1, Python >= 3.12, not this project's code). This project's runtime starts at
1.0.0 and services pin ``>=1.0,<2``, so a resolver should never pick the other one; but an
environment built with a wider pin, ``--extra-index-url`` or by hand can still hold it, and
then every other finding would be about the wrong code.

The marker is the distribution's own metadata, read by the probe without importing it: this
project's runtime declares ``Project-URL: Repository, https://github.com/sweetpotato/spaps``
(``runtime/pyproject.toml``; tests/fleet/test_runtime_origin.py keeps the two equal). Any
installed ``spaps-server-quickstart`` without it is not this project's.
"""

from __future__ import annotations

from typing import Any

from spaps_cli.fleet.compat import RUNTIME_DISTRIBUTION
from spaps_cli.fleet.findings import Finding

#: The repository this project's runtime names in its metadata (``[project.urls] Repository``).
RUNTIME_REPOSITORY = "https://github.com/sweetpotato/spaps"


def _same_url(left: str, right: str) -> bool:
    def clean(url: str) -> str:
        return url.strip().rstrip("/").removesuffix(".git").rstrip("/").lower()

    return clean(left) == clean(right)


def is_this_projects(urls: list[str]) -> bool:
    """True when the metadata's ``Repository`` URL (``label, url``) is this project's."""
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "repository" and _same_url(url, RUNTIME_REPOSITORY):
            return True
    return False


def check_runtime_origin(probe: dict[str, Any]) -> list[Finding]:
    """``runtime.foreign`` when the installed runtime is another distribution of the name."""
    version = probe.get("runtime_version")
    if "probe_error" in probe or not version or "runtime_urls" not in probe:
        return []  # nothing installed, or not probed: the runtime family says so
    urls = [str(url) for url in probe.get("runtime_urls") or []]
    if is_this_projects(urls):
        return []
    named = "; ".join(urls) or "no project URLs"
    return [
        Finding(
            "runtime.foreign",
            "error",
            f"the installed {RUNTIME_DISTRIBUTION} {version} is not this project's runtime: its"
            f" metadata does not name {RUNTIME_REPOSITORY} as its Repository ({named})",
            f"pip uninstall {RUNTIME_DISTRIBUTION}, then reinstall the service (pip install -e .)"
            " with a pin of >=1.0 from the index this project publishes to, never"
            " --extra-index-url (docs/DOWNSTREAM_CI.md)",
        )
    ]
