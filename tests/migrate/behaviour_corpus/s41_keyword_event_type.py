from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event(event_type="startup")
async def open_pool() -> None:
    EVENTS.append("open pool")


def close_pool() -> None:
    EVENTS.append("close pool")


def flush_metrics() -> None:
    EVENTS.append("flush metrics")


app.router.add_event_handler(event_type="shutdown", func=close_pool)
app.router.add_event_handler("shutdown", func=flush_metrics)
