from starlette.applications import Starlette

EVENTS: list[str] = []
app = Starlette()


async def connect() -> None:
    EVENTS.append("connect")


def disconnect() -> None:
    EVENTS.append("disconnect")


app.router.add_event_handler("startup", connect)


@app.router.on_event("startup")
def ready() -> None:
    EVENTS.append("ready")


app.router.add_event_handler(event_type="shutdown", func=disconnect)
