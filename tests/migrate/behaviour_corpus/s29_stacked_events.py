from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("startup")
@app.on_event("shutdown")
async def ping() -> None:
    EVENTS.append("ping")
