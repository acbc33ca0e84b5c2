from starlette.applications import Starlette

EVENTS: list[str] = []


def stop_clients() -> None:
    EVENTS.append("stop clients")


def create_app() -> Starlette:
    app = Starlette(on_shutdown=[stop_clients])

    async def start_clients() -> None:
        EVENTS.append("start clients")
        app.state.clients = ["a", "b"]

    app.add_event_handler("startup", start_clients)

    @app.on_event("startup")
    def announce() -> None:
        EVENTS.append(f"clients: {len(app.state.clients)}")

    return app
