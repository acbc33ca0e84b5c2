"""A sync Session dependency and db.query-style code: DbSession is async, so refused."""

from fastapi import APIRouter, Depends
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    session = SessionLocal()
    try:
        yield session
    finally:
        session.close()


router = APIRouter()


@router.get("/ping-db")
def ping(db: Session = Depends(get_db)):
    return {"one": db.execute(text("select 1")).scalar()}


REFUSED = "sync SQLAlchemy Session"
