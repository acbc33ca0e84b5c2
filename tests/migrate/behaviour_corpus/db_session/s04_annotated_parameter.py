"""Annotated[AsyncSession, Depends(get_db)], path and query parameters around it."""

from typing import Annotated

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


@router.get("/items/{item_id}")
async def read(item_id: int, db: Annotated[AsyncSession, Depends(get_db)], upper: bool = False):
    row = await db.execute(text("select name from items where id = :id"), {"id": item_id})
    name = row.scalar_one_or_none()
    if name is None:
        return {"missing": item_id}
    return {"name": name.upper() if upper else name}


app = create_app(settings=settings, routers=[router])
REQUESTS = [("GET", "/items/1"), ("GET", "/items/2?upper=true"), ("GET", "/items/99")]
