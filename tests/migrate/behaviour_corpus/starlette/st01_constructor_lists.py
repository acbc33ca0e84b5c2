from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

EVENTS: list[str] = []


async def connect() -> None:
    EVENTS.append("connect")


def load_model() -> None:
    EVENTS.append("load model")


async def disconnect() -> None:
    EVENTS.append("disconnect")


async def predict(request: Request) -> JSONResponse:
    return JSONResponse({"model": request.app.state.model, "events": len(EVENTS)})


async def remember_model() -> None:
    app.state.model = "tiny"


app = Starlette(
    debug=True,
    routes=[Route("/predict", predict)],
    on_startup=[connect, load_model, remember_model],
    on_shutdown=[disconnect],
)
