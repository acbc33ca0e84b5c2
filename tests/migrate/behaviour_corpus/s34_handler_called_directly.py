from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("startup")
def seed() -> None:
    EVENTS.append("seed")


seed()  # also seeded at import, on purpose
