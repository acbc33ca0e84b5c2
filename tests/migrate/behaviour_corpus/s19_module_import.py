import fastapi

EVENTS: list[str] = []
app = fastapi.FastAPI()


@app.on_event("startup")
async def start() -> None:
    EVENTS.append("start")
