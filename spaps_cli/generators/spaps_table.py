"""Recording a new domain in the service's ``[tool.spaps]`` table, with tomlkit.

Two lists change together: ``domains`` (what ``spaps`` generated, read by later commands) and
``migration-domains`` (the prefixes the runtime accepts in migration file names). tomlkit keeps
the comments, quoting and array layout the user chose; an entry already present is left alone,
so re-running is a no-op down to the byte.
"""

from __future__ import annotations

from spaps_cli.errors import UsageError

#: The migration-slug prefixes of a service with no domains: ``core`` owns the initial revision.
DEFAULT_MIGRATION_DOMAINS = ("core",)

#: Each list a new domain is appended to, and what it holds before any domain was added (also
#: what ``new service`` records and what a missing key is recreated as).
DOMAIN_KEYS: dict[str, tuple[str, ...]] = {
    "domains": (),
    "migration-domains": DEFAULT_MIGRATION_DOMAINS,
}


def record_domain(pyproject: str, domain: str, *, filename: str) -> str:
    """Return ``pyproject`` with ``domain`` in both lists (the text unchanged if already there)."""
    import tomlkit
    from tomlkit.items import Array

    document = tomlkit.parse(pyproject)
    spaps = document.get("tool", {}).get("spaps")
    if spaps is None:
        raise UsageError(f"{filename} has no [tool.spaps] table")
    changed = False
    for key, default in DOMAIN_KEYS.items():
        values = spaps.get(key)
        if values is None:
            values = tomlkit.array()
            values.extend(default)
            spaps[key] = values
            values = spaps[key]
            changed = True
        if not isinstance(values, Array) or not all(isinstance(v, str) for v in values):
            raise UsageError(
                f"{filename}: [tool.spaps] {key} must be a list of strings",
                hint=f'e.g. {key} = ["core"]',
            )
        if domain not in values:
            values.append(domain)
            changed = True
    return tomlkit.dumps(document) if changed else pyproject
