from fastapi import FastAPI

EVENTS: list[str] = []
app: FastAPI = FastAPI()


@app.on_event("startup")
async def start() -> None:
    EVENTS.append("annotated start")
