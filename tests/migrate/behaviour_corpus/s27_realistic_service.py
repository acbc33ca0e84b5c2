"""Orders API: the shape HTMA's main.py had before the runtime."""

import logging

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

logger = logging.getLogger(__name__)
EVENTS: list[str] = []

router = APIRouter(prefix="/orders")


@router.get("/")
async def list_orders() -> list[str]:
    return []


app = FastAPI(title="orders", version="2.3.0")
app.add_middleware(CORSMiddleware, allow_origins=["*"])
app.include_router(router)


@app.on_event("startup")
async def startup_event() -> None:
    logger.info("starting")
    EVENTS.append("db connected")
    EVENTS.append("cache warmed")


@app.on_event("shutdown")
async def shutdown_event() -> None:
    EVENTS.append("db closed")
