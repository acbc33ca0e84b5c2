from fastapi import FastAPI

EVENTS: list[str] = []


def stop_a() -> None:
    EVENTS.append("stop a")


async def stop_b() -> None:
    EVENTS.append("stop b")


async def start_a() -> None:
    EVENTS.append("start a")


app = FastAPI(on_shutdown=(stop_a, stop_b), debug=False, on_startup=(start_a,))


@app.on_event("startup")
def start_b() -> None:
    EVENTS.append("start b")


@app.on_event("shutdown")
def stop_c() -> None:
    EVENTS.append("stop c")
