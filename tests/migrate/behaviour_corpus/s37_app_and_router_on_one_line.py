from fastapi import APIRouter, FastAPI

EVENTS: list[str] = []
app = FastAPI(); router = APIRouter(prefix="/items")  # noqa: E702  # fmt: skip


@router.get("/")
def items() -> list[str]:
    return []


app.include_router(router)


@app.on_event("startup")
async def connect() -> None:
    EVENTS.append("connect " + type(router).__name__)
