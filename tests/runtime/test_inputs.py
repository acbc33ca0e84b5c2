"""The runtime's edge types: bounded paging and ids, storable text, and a 422 that stays writable.

The generated starters use these against real SQLite and PostgreSQL in
``tests/domain/test_starter_probes.py``; here each bound and each kind of string is pinned on a
``create_app`` app.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import Field
from spaps_server_quickstart.app import create_app
from spaps_server_quickstart.inputs import (
    INT32_MAX,
    INT64_MAX,
    MAX_OFFSET,
    BigIntId,
    IntId,
    Limit,
    Offset,
    RequestBody,
    Text,
    text_problem,
)
from spaps_server_quickstart.settings import BaseServiceSettings


class Note(RequestBody):
    title: str = Field(max_length=50)
    tags: list[str] = []
    labels: dict[str, str] = {}
    count: int = 0
    counts: list[int] = []
    weight: float = 0.0


def _router() -> APIRouter:
    router = APIRouter()

    @router.get("/page")
    async def page(limit: Limit = 10, offset: Offset = 0) -> dict[str, int]:
        return {"limit": limit, "offset": offset}

    @router.get("/small/{item_id}")
    async def small(item_id: IntId) -> dict[str, int]:
        return {"id": item_id}

    @router.get("/big/{item_id}")
    async def big(item_id: BigIntId) -> dict[str, int]:
        return {"id": item_id}

    @router.get("/named/{name}")
    async def named(name: Text, q: Text = "") -> dict[str, str]:
        return {"name": name, "q": q}

    @router.post("/notes")
    async def notes(note: Note) -> dict[str, Any]:
        return note.model_dump()

    return router


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = BaseServiceSettings(
        env="test",
        auth_mode="disabled",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'inputs.db'}",
    )
    with TestClient(create_app(settings=settings, routers=[_router()])) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"offset": MAX_OFFSET}, 200),
        ({"offset": MAX_OFFSET + 1}, 422),
        ({"offset": 2**63}, 422),
        ({"offset": -1}, 422),
        ({"limit": 100}, 200),
        ({"limit": 101}, 422),
        ({"limit": 0}, 422),
        ({"limit": "1e3"}, 422),
    ],
)
def test_paging_is_bounded(client: TestClient, params: dict[str, object], status: int) -> None:
    assert client.get("/page", params=params).status_code == status


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/small/{INT32_MAX}", 200),
        (f"/small/{INT32_MAX + 1}", 422),
        ("/small/0", 422),
        ("/small/-5", 422),
        (f"/big/{INT64_MAX}", 200),
        (f"/big/{INT64_MAX + 1}", 422),
        ("/big/" + "9" * 4000, 422),
    ],
)
def test_ids_are_bounded_to_the_column_type(client: TestClient, path: str, status: int) -> None:
    assert client.get(path).status_code == status


def test_nul_in_a_path_or_query_string_is_422(client: TestClient) -> None:
    assert client.get("/named/plain", params={"q": "ok"}).json() == {"name": "plain", "q": "ok"}
    assert client.get("/named/a%00b").status_code == 422
    assert client.get("/named/x", params={"q": "a\x00"}).status_code == 422


@pytest.mark.parametrize(
    "raw",
    [
        b'{"title": "a\\u0000b"}',
        b'{"title": "a\\ud800b"}',
        b'{"title": "\\udfff"}',
        b'{"title": "ok", "tags": ["fine", "bad\\u0000"]}',
        b'{"title": "ok", "tags": ["\\udc80"]}',
        b'{"title": "ok", "labels": {"k": "v\\u0000"}}',
        b'{"title": "ok", "labels": {"k\\u0000": "v"}}',
        b'{"title": "ok", "labels": {"\\ud800": "v"}}',
    ],
    ids=[
        "nul",
        "lone-high-surrogate",
        "lone-low-surrogate",
        "nul-in-a-list",
        "surrogate-in-a-list",
        "nul-in-a-dict-value",
        "nul-in-a-dict-key",
        "surrogate-in-a-dict-key",
    ],
)
def test_unstorable_strings_anywhere_in_a_body_are_a_writable_422(
    client: TestClient, raw: bytes
) -> None:
    response = client.post("/notes", content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    response.content.decode("ascii")  # escaped: a lone surrogate cannot break the answer
    (error,) = response.json()["detail"]
    assert error["loc"][0] == "body"
    assert error["loc"][1] in ("title", "tags", "labels")  # the field is named


def test_an_unknown_field_holding_a_surrogate_is_a_writable_422(client: TestClient) -> None:
    raw = b'{"title": "ok", "\\ud800": "x"}'

    response = client.post("/notes", content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 422
    response.content.decode("ascii")


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [
        ("count", INT64_MAX, 200),
        ("count", -(2**63), 200),
        ("count", INT64_MAX + 1, 422),
        ("count", -(2**63) - 1, 422),
        ("count", 10**30, 422),
        ("counts", [1, 2**64], 422),
        ("weight", 10**30, 200),  # a float field keeps it as a float: storable
    ],
)
def test_integers_wider_than_any_column_are_422(
    client: TestClient, field: str, value: object, status: int
) -> None:
    response = client.post("/notes", json={"title": "n", field: value})

    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["detail"][0]["loc"] == ["body", field]


def test_ordinary_unicode_passes_untouched(client: TestClient) -> None:
    note = {
        "title": "Crème brûlée 🍮",
        "tags": ["中文", "e\u0301", "\u200d", "\U0010fffd"],
        "labels": {"ñ": "😀"},
    }

    response = client.post("/notes", json=note)

    assert response.status_code == 200
    assert {key: response.json()[key] for key in note} == note


def test_a_surrogate_pair_written_as_two_escapes_is_one_character(client: TestClient) -> None:
    raw = b'{"title": "\\ud83d\\ude00"}'

    response = client.post("/notes", content=raw, headers={"Content-Type": "application/json"})

    assert response.json()["title"] == "😀"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("fine", None),
        ("", None),
        ("\x00", "NUL"),
        ("x\ud800", "surrogate"),
        ("\ud83d\ude00", "surrogate"),  # a pair as two code points is not text in Python
    ],
)
def test_text_problem(value: str, problem: str | None) -> None:
    found = text_problem(value)
    assert (found is None) if problem is None else (found is not None and problem in found)
