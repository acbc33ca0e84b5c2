"""Handlers that live in another module, as in services that split events out of main.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI


def make_async_handler(events: list[str], name: str) -> Callable[[], Awaitable[None]]:
    events.append(f"made {name}")

    async def handler() -> None:
        events.append(name)

    return handler


def make_sync_handler(events: list[str], name: str) -> Callable[[], None]:
    events.append(f"made {name}")

    def handler() -> None:
        events.append(name)

    return handler


def make_app_handler(app: FastAPI, events: list[str]) -> Callable[[], Awaitable[None]]:
    async def handler() -> None:
        app.state.ready = True
        events.append("app handler")

    return handler


SHARED_EVENTS: list[str] = []


async def shared_connect() -> None:
    SHARED_EVENTS.append("shared connect")


def shared_close() -> None:
    SHARED_EVENTS.append("shared close")
