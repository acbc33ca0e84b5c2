from fastapi import FastAPI

EVENTS: list[str] = []
app = FastAPI()


@app.on_event("startup")
async def attach_client() -> None:
    app.state.client = "http-client"
    EVENTS.append(f"state {app.state.client}")


@app.on_event("shutdown")
async def detach_client() -> None:
    EVENTS.append(f"closing {app.state.client}")
