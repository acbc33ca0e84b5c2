"""Two dependencies in one module: the async one moves, the sync one is reported."""

from db_support import make_settings
from fastapi import APIRouter, Depends
from spaps_server_quickstart import create_app
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

settings = make_settings()
engine = create_async_engine(settings.database_url.get_secret_value())
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)

sync_engine = create_engine("sqlite://")
SyncSession = sessionmaker(bind=sync_engine)


async def get_db():
    async with SessionLocal() as session:
        yield session


def get_session():
    session = SyncSession()
    try:
        yield session
    finally:
        session.close()


router = APIRouter()


@router.get("/items")
async def list_items(db: AsyncSession = Depends(get_db)):
    return list((await db.execute(text("select name from items order by name"))).scalars())


@router.get("/one")
def one(db: Session = Depends(get_session)):
    return {"one": db.execute(text("select 1")).scalar()}


app = create_app(settings=settings, routers=[router])
REQUESTS = [("GET", "/items"), ("GET", "/one")]
