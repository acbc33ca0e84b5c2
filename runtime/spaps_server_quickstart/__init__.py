"""spaps-server-quickstart: the shared runtime for SPAPS services."""

__version__ = "0.1.0"
