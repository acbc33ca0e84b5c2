from dataclasses import dataclass

from fastapi import FastAPI

EVENTS: list[str] = []


@dataclass
class Settings:
    name: str = "ingredient"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title=settings.name)

    async def announce() -> None:
        EVENTS.append(f"hello from {settings.name}")

    def farewell() -> None:
        EVENTS.append(f"bye from {settings.name}")

    app.router.add_event_handler("startup", announce)
    app.router.add_event_handler("shutdown", farewell)
    return app
