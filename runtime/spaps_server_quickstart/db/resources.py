"""The async engine and session factory a service owns for the length of one lifespan.

One :class:`DatabaseResources` per event loop: a pooled ``AsyncEngine`` must never be shared
across loops (``Future attached to a different loop``), which is why the lifespan builds it on
start-up and disposes it on shutdown, and why Celery workers and tests that run
``asyncio.run`` per call use ``NullPool``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from ..settings import BaseServiceSettings, reveal


def _enable_sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite ignores foreign keys unless asked, per connection; WAL lets readers and one writer
    # (the API and a worker) work on the same file without "database is locked".
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def _is_in_memory_sqlite(url: str) -> bool:
    database = make_url(url).database
    return database in (None, "", ":memory:") or "mode=memory" in url


@dataclass(frozen=True)
class DatabaseResources:
    """An ``AsyncEngine`` plus an ``async_sessionmaker(expire_on_commit=False)``.

    ``expire_on_commit=False`` because reading an attribute after ``await session.commit()``
    would otherwise lazy-load outside the greenlet and raise ``MissingGreenlet``.
    """

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]

    @classmethod
    def from_url(
        cls,
        url: str | SecretStr,
        *,
        echo: bool = False,
        null_pool: bool = False,
        pool_size: int = 5,
        max_overflow: int = 10,
        pool_recycle_seconds: int = 1800,
        pool_timeout_seconds: float = 30.0,
        **engine_kwargs: Any,
    ) -> DatabaseResources:
        url = reveal(url)
        is_sqlite = url.lower().startswith("sqlite")
        options: dict[str, Any] = {"echo": echo}
        if null_pool:
            options["poolclass"] = NullPool
        elif not (is_sqlite and _is_in_memory_sqlite(url)):
            # Dead connections (server restart, pgbouncer idle kill) are found before use,
            # not by the request that gets them; async engines do neither by default.
            options.update(
                pool_pre_ping=True,
                pool_recycle=pool_recycle_seconds,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout_seconds,
            )
        options.update(engine_kwargs)
        engine = create_async_engine(url, **options)
        if is_sqlite:
            event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
        return cls(engine=engine, sessionmaker=async_sessionmaker(engine, expire_on_commit=False))

    @classmethod
    def from_settings(
        cls, settings: BaseServiceSettings, *, null_pool: bool | None = None
    ) -> DatabaseResources:
        """Build from ``settings``; ``null_pool`` overrides ``settings.database_null_pool``."""
        return cls.from_url(
            settings.database_url,
            echo=settings.database_echo,
            null_pool=settings.database_null_pool if null_pool is None else null_pool,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_recycle_seconds=settings.database_pool_recycle_seconds,
            pool_timeout_seconds=settings.database_pool_timeout_seconds,
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session for one unit of work; commit yourself, anything uncommitted is rolled back."""
        async with self.sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside ``begin()``: committed when the block succeeds, else rolled back."""
        async with self.sessionmaker.begin() as session:
            yield session

    async def ping(self, timeout: float) -> None:  # noqa: ASYNC109 - the readiness contract
        """``SELECT 1`` within ``timeout`` seconds; raises (``TimeoutError`` included) on failure."""

        async def select_one() -> None:
            async with self.engine.connect() as connection:
                await connection.execute(select(1))

        await asyncio.wait_for(select_one(), timeout=timeout)

    async def dispose(self) -> None:
        """Close every pooled connection; the lifespan calls this on shutdown."""
        await self.engine.dispose()
