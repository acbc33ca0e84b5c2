from typing import Any

from fastapi import FastAPI

EVENTS: list[str] = []
model: Any = None
app = FastAPI()


@app.on_event("startup")
def load_model() -> None:
    global model
    model = {"weights": 3}
    EVENTS.append(f"loaded {model['weights']}")


@app.get("/predict")
def predict() -> dict[str, int]:
    return {"weights": model["weights"]}


@app.on_event("shutdown")
def drop_model() -> None:
    global model
    model = None
    EVENTS.append("dropped")
