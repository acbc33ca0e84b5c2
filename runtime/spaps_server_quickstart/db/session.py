"""The request-scoped ``AsyncSession`` dependency.

One session per request (an ``AsyncSession`` is not safe across concurrent tasks), committed
when the endpoint returns and rolled back when it raises, ``HTTPException`` included.

``scope="function"`` makes FastAPI run the commit right after the endpoint returns and *before*
the response is sent: with the default request scope (FastAPI >= 0.118) the exit code runs after
the response went out, so a failing commit would reach the client as a 200.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from .resources import DatabaseResources


class DatabaseNotConfiguredError(RuntimeError):
    """``request.state.db`` is missing: the app was not built by ``create_app`` or its lifespan
    did not run (``TestClient(app)`` used without ``with``)."""


def get_database(request: Request) -> DatabaseResources:
    database = getattr(request.state, "db", None)
    if not isinstance(database, DatabaseResources):
        raise DatabaseNotConfiguredError(
            "request.state.db is not set: build the app with create_app() and run its lifespan"
            " (in tests: `with TestClient(app) as client:`)"
        )
    return database


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Yield a session; commit on success, roll back on any exception, always close."""
    database = get_database(request)
    async with database.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]
