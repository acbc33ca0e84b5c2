"""An async session handed to a plain def endpoint: refused, the runtime's session is async."""

from db_support import make_settings
from fastapi import APIRouter, Depends
from spaps_server_quickstart import create_app
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

settings = make_settings()
engine = create_async_engine(settings.database_url.get_secret_value())
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)


async def get_db():
    async with SessionLocal() as session:
        yield session


router = APIRouter()


@router.get("/session-type")
def session_type(db: AsyncSession = Depends(get_db)):
    return {"type": type(db).__name__}


app = create_app(settings=settings, routers=[router])
REFUSED = "plain def"
