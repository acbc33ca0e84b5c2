from fastapi import FastAPI

EVENTS: list[str] = []


def from_constructor() -> None:
    EVENTS.append("constructor")


app = FastAPI(on_startup=[from_constructor])


@app.on_event("startup")
async def from_decorator() -> None:
    EVENTS.append("decorator")
