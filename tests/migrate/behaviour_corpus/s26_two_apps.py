from fastapi import FastAPI

EVENTS: list[str] = []
admin_app = FastAPI()
app = FastAPI()


@admin_app.on_event("startup")
async def admin_start() -> None:
    EVENTS.append("admin start")


@app.on_event("startup")
async def public_start() -> None:
    EVENTS.append("public start")


app.mount("/admin", admin_app)
