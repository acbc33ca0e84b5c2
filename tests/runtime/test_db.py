"""DatabaseResources, the DbSession dependency and the naming convention, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.testclient import TestClient
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.db import (
    NAMING_CONVENTION,
    DatabaseResources,
    DbSession,
    create_metadata,
)
from spaps_server_quickstart.db.base import POSTGRES_MAX_IDENTIFIER_BYTES
from spaps_server_quickstart.settings import BaseServiceSettings
from spaps_server_quickstart.testing.services import TemporaryDatabase
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool, StaticPool


class Model(DeclarativeBase):
    metadata = create_metadata()


class Owner(Model):
    __tablename__ = "owner"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Pet(Model):
    __tablename__ = "pet"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owner.id"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    else:
        database: TemporaryDatabase = request.getfixturevalue("postgres_database")
        yield database.url


async def create_tables(url: str) -> None:
    database = DatabaseResources.from_url(url, null_pool=True)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(Model.metadata.create_all)
    finally:
        await database.dispose()


def owners_router() -> APIRouter:
    router = APIRouter()

    @router.post("/owners/{name}")
    async def add_owner(name: str, session: DbSession, fail: bool = False) -> dict[str, Any]:
        owner = Owner(name=name)
        session.add(owner)
        await session.flush()
        if fail:
            raise HTTPException(status_code=409, detail="rolled back on purpose")
        return {"id": owner.id}

    @router.get("/owners")
    async def list_owners(session: DbSession) -> list[str]:
        return list((await session.scalars(select(Owner.name).order_by(Owner.name))).all())

    @router.post("/duplicate-on-commit/{name}")
    async def duplicate_on_commit(name: str, session: DbSession) -> dict[str, str]:
        # No flush: the unique violation surfaces only when the dependency commits.
        session.add(Owner(name=name))
        return {"status": "looks fine"}

    return router


def make_app(url: str, database: DatabaseResources | None = None) -> FastAPI:
    settings = BaseServiceSettings(database_url=url, auth_mode="disabled")
    return create_app(settings=settings, routers=[owners_router()], database=database)


@pytest.mark.anyio
async def test_from_settings_pools_postgres_with_pre_ping_and_recycle() -> None:
    settings = BaseServiceSettings(
        database_url="postgresql+asyncpg://u@127.0.0.1:5432/x",
        database_pool_size=3,
        database_max_overflow=2,
        database_pool_recycle_seconds=600,
        database_pool_timeout_seconds=4,
    )
    database = DatabaseResources.from_settings(settings)
    pool = database.engine.pool
    assert isinstance(pool, AsyncAdaptedQueuePool)
    assert pool.size() == 3
    assert pool._max_overflow == 2
    assert pool._recycle == 600
    assert pool._pre_ping is True
    assert pool._timeout == 4
    assert database.sessionmaker.kw["expire_on_commit"] is False
    await database.dispose()


@pytest.mark.anyio
async def test_null_pool_from_settings_or_override() -> None:
    url = "postgresql+asyncpg://u@127.0.0.1:5432/x"
    from_settings = DatabaseResources.from_settings(
        BaseServiceSettings(database_url=url, database_null_pool=True)
    )
    overridden = DatabaseResources.from_settings(
        BaseServiceSettings(database_url=url), null_pool=True
    )
    kept_pooled = DatabaseResources.from_settings(
        BaseServiceSettings(database_url=url, database_null_pool=True), null_pool=False
    )
    assert isinstance(from_settings.engine.pool, NullPool)
    assert isinstance(overridden.engine.pool, NullPool)
    assert isinstance(kept_pooled.engine.pool, AsyncAdaptedQueuePool)
    in_memory = DatabaseResources.from_url("sqlite+aiosqlite:///:memory:")
    assert isinstance(in_memory.engine.pool, StaticPool)
    for database in (from_settings, overridden, kept_pooled, in_memory):
        await database.dispose()


def test_session_commits_on_success_and_rolls_back_on_exception(database_url: str) -> None:
    import anyio

    anyio.run(create_tables, database_url)
    with TestClient(make_app(database_url)) as client:
        assert client.post("/owners/ada").status_code == 200
        assert client.post("/owners/bob", params={"fail": True}).status_code == 409
        assert client.get("/owners").json() == ["ada"]


def test_failed_commit_reaches_the_client_as_an_error(database_url: str) -> None:
    import anyio

    anyio.run(create_tables, database_url)
    with TestClient(make_app(database_url), raise_server_exceptions=False) as client:
        assert client.post("/duplicate-on-commit/cy").status_code == 200
        response = client.post("/duplicate-on-commit/cy")
        # The commit runs before the response is sent, so the client never sees a false 200.
        assert response.status_code == 500
        assert client.get("/owners").json() == ["cy"]


@pytest.mark.anyio
async def test_attributes_stay_readable_after_commit(database_url: str) -> None:
    await create_tables(database_url)
    database = DatabaseResources.from_url(database_url)
    try:
        async with database.session() as session:
            owner = Owner(name="dora")
            session.add(owner)
            await session.commit()
            # expire_on_commit=True would lazy-load here and raise MissingGreenlet.
            assert owner.name == "dora"
            assert owner.id is not None
        async with database.transaction() as session:
            session.add(Owner(name="eve"))
        with pytest.raises(IntegrityError):
            async with database.transaction() as session:
                session.add(Owner(name="eve"))
        async with database.session() as session:
            names = (await session.scalars(select(Owner.name).order_by(Owner.name))).all()
        assert names == ["dora", "eve"]
    finally:
        await database.dispose()


@pytest.mark.anyio
async def test_sqlite_enforces_foreign_keys_and_uses_wal(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fk.db'}"
    await create_tables(url)
    database = DatabaseResources.from_url(url)
    try:
        async with database.session() as session:
            assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            session.add(Pet(owner_id=999))
            with pytest.raises(IntegrityError, match="FOREIGN KEY"):
                await session.commit()
    finally:
        await database.dispose()


@pytest.mark.anyio
async def test_ping_succeeds_and_fails_within_the_timeout(database_url: str) -> None:
    database = DatabaseResources.from_url(database_url)
    dead = DatabaseResources.from_url("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    try:
        await database.ping(timeout=5)
        with pytest.raises(OSError):
            await dead.ping(timeout=5)
    finally:
        await database.dispose()
        await dead.dispose()


async def backend_connections(database: TemporaryDatabase) -> int:
    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database.name
        )
    finally:
        await connection.close()
    return int(count)


def test_lifespan_disposes_the_engine_on_shutdown(postgres_database: TemporaryDatabase) -> None:
    import anyio

    anyio.run(create_tables, postgres_database.url)
    database = DatabaseResources.from_url(postgres_database.url)
    with TestClient(make_app(postgres_database.url, database)) as client:
        assert client.post("/owners/finn").status_code == 200
        assert database.engine.pool.checkedin() == 1  # type: ignore[attr-defined]
        assert anyio.run(backend_connections, postgres_database) == 1
    assert database.engine.pool.checkedin() == 0  # type: ignore[attr-defined]
    assert anyio.run(backend_connections, postgres_database) == 0


def test_a_second_lifespan_on_a_new_loop_gets_a_working_engine(database_url: str) -> None:
    import anyio

    anyio.run(create_tables, database_url)
    app = make_app(database_url)
    for name in ("gus", "hal"):
        with TestClient(app) as client:
            assert client.post(f"/owners/{name}").status_code == 200
    with TestClient(app) as client:
        assert client.get("/owners").json() == ["gus", "hal"]


def test_naming_convention_is_the_standard_one() -> None:
    assert NAMING_CONVENTION == {
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
    assert create_metadata().naming_convention is not create_metadata().naming_convention


def convention_tables(metadata: MetaData, long_table: str, long_column: str) -> None:
    Table(
        "user_account",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("email", String(100)),
        Column("name", String(100), index=True),
        UniqueConstraint("email"),
        CheckConstraint("length(name) > 0", name="name_nonempty"),
    )
    Table(
        "item",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("owner_id", Integer, ForeignKey("user_account.id")),
    )
    Table(
        long_table,
        metadata,
        Column("id", Integer, primary_key=True),
        Column(long_column, String(20)),
        UniqueConstraint(long_column),
        Index(None, long_column),
    )


def expected_truncation(name: str) -> str:
    """SQLAlchemy's deterministic scheme: 55 characters, ``_``, last 4 hex of the MD5."""
    if len(name) <= POSTGRES_MAX_IDENTIFIER_BYTES:
        return name
    return (
        name[: POSTGRES_MAX_IDENTIFIER_BYTES - 8]
        + "_"
        + hashlib.md5(name.encode()).hexdigest()[-4:]
    )


@pytest.mark.anyio
async def test_naming_convention_ddl_names_on_postgres(
    postgres_database: TemporaryDatabase,
) -> None:
    long_table = "a_really_long_table_name_for_testing_identifier_truncation_rules"[:63]
    long_column = "an_equally_long_column_name_that_pushes_the_constraint_past_63"
    metadata = create_metadata()
    convention_tables(metadata, long_table, long_column)
    database = DatabaseResources.from_url(postgres_database.url, null_pool=True)

    def reflect(connection: Any) -> dict[str, Any]:
        inspector = inspect(connection)

        def indexes(table: str) -> list[str]:
            # PostgreSQL reports the index behind each unique constraint too; skip those.
            return [
                i["name"]
                for i in inspector.get_indexes(table)
                if i["name"] and not i.get("duplicates_constraint")
            ]

        return {
            "pk": inspector.get_pk_constraint("user_account")["name"],
            "uq": [u["name"] for u in inspector.get_unique_constraints("user_account")],
            "ck": [c["name"] for c in inspector.get_check_constraints("user_account")],
            "ix": indexes("user_account"),
            "fk": [f["name"] for f in inspector.get_foreign_keys("item")],
            "long_uq": [u["name"] for u in inspector.get_unique_constraints(long_table)],
            "long_ix": indexes(long_table),
        }

    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        async with database.engine.connect() as connection:
            names = await connection.run_sync(reflect)
        async with database.engine.begin() as connection:
            # The same model compiles to the same names: drop_all finds every constraint.
            await connection.run_sync(metadata.drop_all)
            assert await _table_count(connection) == 0
    finally:
        await database.dispose()

    assert names["pk"] == "pk_user_account"
    assert names["uq"] == ["uq_user_account_email"]
    assert names["ck"] == ["ck_user_account_name_nonempty"]
    assert names["ix"] == ["ix_user_account_name"]
    assert names["fk"] == ["fk_item_owner_id_user_account"]
    full_uq = f"uq_{long_table}_{long_column}"
    full_ix = f"ix_{long_table}_{long_column}"
    assert len(full_uq.encode()) > POSTGRES_MAX_IDENTIFIER_BYTES
    assert names["long_uq"] == [expected_truncation(full_uq)]
    assert names["long_ix"] == [expected_truncation(full_ix)]
    assert all(len(n.encode()) <= POSTGRES_MAX_IDENTIFIER_BYTES for n in names["long_uq"])


async def _table_count(connection: AsyncConnection) -> int:
    result = await connection.execute(
        text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    )
    return int(result.scalar_one())
