"""Repository-wide fixtures. Real services come from the runtime's test plugin."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
