from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("startup")
async def ok() -> None:
    EVENTS.append("ok")


@app.on_event("startup")
async def broken() -> None:
    EVENTS.append("broken")
    raise RuntimeError("database unreachable")


@app.on_event("shutdown")
async def never_called() -> None:
    EVENTS.append("shutdown")
