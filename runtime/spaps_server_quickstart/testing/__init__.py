"""Test support for SPAPS services: the pytest plugin, the SPAPS stand-in, real-service fixtures.

Kept import-free: pytest imports this package for every run through the plugin entry point.
"""

from __future__ import annotations
