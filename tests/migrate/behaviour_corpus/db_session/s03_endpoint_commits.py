"""No commit in the dependency, but the endpoint commits what it writes."""

from db_support import make_settings
from fastapi import APIRouter, Depends
from spaps_server_quickstart import create_app
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

settings = make_settings()
engine = create_async_engine(settings.database_url.get_secret_value())
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_session():
    async with SessionLocal() as session:
        yield session


router = APIRouter()


@router.delete("/items/{name}")
async def remove(name: str, session: AsyncSession = Depends(get_session)):
    await session.execute(text("delete from items where name = :name"), {"name": name})
    await session.commit()
    return {"removed": name}


@router.get("/items/count")
async def count(session: AsyncSession = Depends(get_session)):
    return {"count": (await session.execute(text("select count(*) from items"))).scalar_one()}


app = create_app(settings=settings, routers=[router])
REQUESTS = [("DELETE", "/items/pear"), ("GET", "/items/count")]
