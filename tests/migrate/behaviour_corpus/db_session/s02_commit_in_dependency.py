"""The dependency commits on return, as the runtime's does; the endpoint writes."""

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
        await session.commit()


router = APIRouter()


@router.post("/items/{name}", status_code=201)
async def add_item(name: str, db: AsyncSession = Depends(get_db)):
    await db.execute(text("insert into items (name) values (:name)"), {"name": name})
    return {"added": name}


@router.get("/items")
async def list_items(db: AsyncSession = Depends(get_db)):
    rows = await db.execute(text("select name from items order by name"))
    return list(rows.scalars())


app = create_app(settings=settings, routers=[router])
REQUESTS = [("POST", "/items/fig"), ("GET", "/items")]
