from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("startup")
async def start() -> None:
    EVENTS.append("start")


@app.on_event("shutdown")
async def close_http() -> None:
    EVENTS.append("close http")


@app.on_event("shutdown")
def close_db() -> None:
    EVENTS.append("close db")


@app.on_event("shutdown")
async def flush_metrics() -> None:
    EVENTS.append("flush metrics")
