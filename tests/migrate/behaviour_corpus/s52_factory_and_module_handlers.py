from fastapi import FastAPI

EVENTS: list[str] = []


def make_app() -> FastAPI:
    app = FastAPI()

    @app.on_event("startup")
    def inner() -> None:
        EVENTS.append("inner")

    return app


app = make_app()


@app.on_event("startup")
def outer() -> None:
    EVENTS.append("outer")
