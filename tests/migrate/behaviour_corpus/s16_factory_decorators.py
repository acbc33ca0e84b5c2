from fastapi import FastAPI

EVENTS: list[str] = []


def create_app() -> FastAPI:
    app = FastAPI()

    @app.on_event("startup")
    async def start() -> None:
        EVENTS.append("factory start")

    @app.on_event("shutdown")
    def stop() -> None:
        EVENTS.append("factory stop")

    return app
