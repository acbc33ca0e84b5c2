from fastapi import FastAPI

EVENTS: list[str] = []
api = FastAPI()


@api.on_event("startup")
async def start() -> None:
    EVENTS.append("api start")


app = api
