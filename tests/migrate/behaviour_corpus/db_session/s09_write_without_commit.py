"""The endpoint adds a row and never commits: today it is discarded, DbSession would keep it."""

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


@router.post("/draft/{name}")
async def draft(name: str, db: AsyncSession = Depends(get_db)):
    await db.execute(text("insert into items (name) values (:name)"), {"name": name})
    return {"drafted": name}


app = create_app(settings=settings, routers=[router])
REFUSED = "does not commit"
