from fastapi import FastAPI

EVENTS: list[str] = []


def build_app(title: str = "billing") -> FastAPI:
    application = FastAPI(title=title)
    EVENTS.append(f"built {title}")
    return application


app = build_app()


@app.on_event("startup")
async def connect() -> None:
    EVENTS.append("connect")


@app.on_event("shutdown")
def disconnect() -> None:
    EVENTS.append("disconnect")
