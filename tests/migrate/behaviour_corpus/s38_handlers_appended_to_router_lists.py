from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


async def start_metrics() -> None:
    EVENTS.append("metrics")


def stop_metrics() -> None:
    EVENTS.append("metrics stopped")


app.router.on_startup.append(start_metrics)
app.router.on_shutdown += [stop_metrics]


@app.on_event("startup")
async def connect() -> None:
    EVENTS.append("connect")
