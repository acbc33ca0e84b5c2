from starlette.applications import Starlette

EVENTS: list[str] = []


def build(debug: bool = False) -> Starlette:
    application = Starlette(debug=debug)
    return application


app = build(debug=True)


async def connect() -> None:
    EVENTS.append("connect")


app.add_event_handler("startup", connect)


@app.on_event("shutdown")
def disconnect() -> None:
    EVENTS.append("disconnect")
