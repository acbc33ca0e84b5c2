"""An async session on a plain FastAPI app: DbSession would answer 500, so refused."""

from db_support import make_settings
from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

settings = make_settings()
engine = create_async_engine(settings.database_url.get_secret_value())
SessionLocal = async_sessionmaker(engine)


async def get_db():
    async with SessionLocal() as session:
        yield session


app = FastAPI()


@app.get("/items")
async def list_items(db: AsyncSession = Depends(get_db)):
    return list((await db.execute(text("select name from items"))).scalars())


REFUSED = "create_app"
