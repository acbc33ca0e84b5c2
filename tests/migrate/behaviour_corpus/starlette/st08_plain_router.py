from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, Router

EVENTS: list[str] = []


async def predict(request: Request) -> JSONResponse:
    return JSONResponse({"served by": "router", "events": list(EVENTS)})


async def connect() -> None:
    EVENTS.append("router connect")


def disconnect() -> None:
    EVENTS.append("router disconnect")


router = Router(routes=[Route("/predict", predict)], on_startup=[connect], on_shutdown=[disconnect])


@router.on_event("startup")
def ready() -> None:
    EVENTS.append("router ready")


router.add_event_handler("shutdown", lambda: EVENTS.append("router bye"))
