from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("startup")
def load_model() -> None:
    EVENTS.append("load model")


@app.on_event("shutdown")
def unload_model() -> None:
    EVENTS.append("unload model")
