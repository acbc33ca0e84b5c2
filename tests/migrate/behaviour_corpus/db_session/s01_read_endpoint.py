"""An async session dependency, one read endpoint, the app on create_app."""

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


@router.get("/items")
async def list_items(db: AsyncSession = Depends(get_db)):
    rows = await db.execute(text("select name from items order by name"))
    return list(rows.scalars())


app = create_app(settings=settings, routers=[router])
REQUESTS = [("GET", "/items")]
