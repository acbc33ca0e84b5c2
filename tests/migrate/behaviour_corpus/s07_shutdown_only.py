from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("shutdown")
def close() -> None:
    EVENTS.append("close")
