"""The doctor's check families, one module each; importing this package registers them all.

``FAMILIES`` is the order ``spaps doctor`` runs and prints them in.
"""

from spaps_cli.fleet.checks import codemods, database, migrations, runtime, settings

FAMILIES = ("runtime", "settings", "database", "migrations", "codemods")

__all__ = ["FAMILIES", "codemods", "database", "migrations", "runtime", "settings"]
