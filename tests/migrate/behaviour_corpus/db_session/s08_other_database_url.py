"""The engine reads another setting than database_url: it may be another database."""

import os

from db_support import make_settings
from fastapi import APIRouter, Depends
from spaps_server_quickstart import create_app
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

settings = make_settings()
engine = create_async_engine(settings.database_url.get_secret_value())
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)

reports_engine = create_async_engine(os.environ["CORPUS_DATABASE_URL"])
Reports = async_sessionmaker(reports_engine)


async def get_db():
    async with Reports() as session:
        yield session


router = APIRouter()


@router.get("/report")
async def report(db: AsyncSession = Depends(get_db)):
    return {"n": (await db.execute(text("select count(*) from items"))).scalar_one()}


app = create_app(settings=settings, routers=[router])
REFUSED = "the runtime's to settings.database_url"
