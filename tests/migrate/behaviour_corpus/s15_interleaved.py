from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("startup")
async def one() -> None:
    EVENTS.append("one")


def two() -> None:
    EVENTS.append("two")


app.router.add_event_handler("startup", two)


@app.on_event("startup")
async def three() -> None:
    EVENTS.append("three")


app.router.add_event_handler("shutdown", two)
