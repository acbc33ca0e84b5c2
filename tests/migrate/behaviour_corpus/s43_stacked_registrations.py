from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("shutdown")
@app.on_event("startup")
@app.on_event("startup")
def tick() -> None:
    EVENTS.append("tick")


@app.on_event("startup")
async def after_tick() -> None:
    EVENTS.append("after tick")


@app.router.on_event("startup")
@app.on_event("shutdown")
async def both_owners() -> None:
    EVENTS.append("both owners")
