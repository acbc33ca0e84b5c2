from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


def ready() -> None:
    EVENTS.append("first ready")


app.router.add_event_handler("startup", ready)


def ready() -> None:
    EVENTS.append("second ready")
