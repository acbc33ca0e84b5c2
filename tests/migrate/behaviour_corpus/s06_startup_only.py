from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("startup")
async def warm() -> None:
    EVENTS.append("warm")


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"ping": "pong"}
