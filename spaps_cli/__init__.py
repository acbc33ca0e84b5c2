"""spaps: stand up, grow, migrate and release SPAPS services."""

__version__ = "0.1.0"
