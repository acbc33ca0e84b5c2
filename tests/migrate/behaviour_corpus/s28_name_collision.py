from fastapi import FastAPI

EVENTS: list[str] = []
lifespan = "not a lifespan: a config value with the same name"
app = FastAPI()


@app.on_event("startup")
async def start() -> None:
    EVENTS.append(f"start ({lifespan[:3]})")
