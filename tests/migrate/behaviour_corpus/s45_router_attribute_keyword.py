from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI(title="inventory")


@app.router.on_event(event_type="startup")
def load_catalogue() -> None:
    EVENTS.append("catalogue loaded")


@app.router.on_event("shutdown")
async def save_catalogue() -> None:
    EVENTS.append("catalogue saved")


@app.on_event("startup")
async def announce() -> None:
    EVENTS.append("announced")
