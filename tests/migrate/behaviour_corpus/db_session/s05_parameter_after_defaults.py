"""The session parameter follows parameters with defaults: it keeps a default."""

from db_support import make_settings
from fastapi import APIRouter, Depends
from spaps_server_quickstart import create_app
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

settings = make_settings()
engine = create_async_engine(settings.database_url.get_secret_value())
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_db():
    async with SessionLocal() as session:
        yield session


router = APIRouter()


@router.get("/search")
async def search(prefix: str = "a", limit: int = 10, db: AsyncSession = Depends(get_db)):
    rows = await db.execute(
        text("select name from items where name like :p order by name limit :n"),
        {"p": prefix + "%", "n": limit},
    )
    return list(rows.scalars())


app = create_app(settings=settings, routers=[router])
REQUESTS = [("GET", "/search"), ("GET", "/search?prefix=p&limit=1")]
