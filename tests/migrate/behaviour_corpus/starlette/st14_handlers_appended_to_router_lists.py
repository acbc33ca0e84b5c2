from starlette.applications import Starlette

EVENTS: list[str] = []
app = Starlette()


@app.on_event("startup")
def connect() -> None:
    EVENTS.append("connect")


def metrics() -> None:
    EVENTS.append("metrics")


app.router.on_startup.append(metrics)
