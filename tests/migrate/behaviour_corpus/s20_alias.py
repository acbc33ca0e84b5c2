from fastapi import FastAPI as API

EVENTS: list[str] = []
app = API(docs_url=None)


@app.on_event("startup")
def start() -> None:
    EVENTS.append("start")


@app.on_event("shutdown")
def stop() -> None:
    EVENTS.append("stop")
