"""Copied into a generated service (``notes`` crud, ``admin``, ``users``) and run by its pytest on
SQLite and PostgreSQL: input a database cannot store is refused with 422 at the edge, never 500.

The cases: integers past what the column or the driver holds (an offset of 2**63 overflows
SQLite's int64, an id of 2**31 PostgreSQL's ``integer``), NUL (PostgreSQL text cannot hold it)
and lone surrogates (no database encoding can), in bodies, paths and every starter.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

NUL = "a\u0000b"
SURROGATE_JSON = '"a\\ud800b"'  # a JSON string with a lone surrogate escape, sent as raw bytes
HUGE = str(2**63)
INT32_PAST = str(2**31)


def _raw(body: dict[str, object], **surrogates: str) -> bytes:
    """``body`` as JSON, with fields whose value is a lone-surrogate string spliced in raw."""
    text = json.dumps(body)
    for field in surrogates:
        text = text[:-1] + (", " if body else "") + f'"{field}": {SURROGATE_JSON}' + "}"
    return text.encode()


PARAMS = [
    ("GET", "/notes/items", {"offset": HUGE}),
    ("GET", "/notes/items", {"offset": str(2**63 - 1)}),
    ("GET", "/notes/items", {"limit": HUGE}),
    ("GET", "/notes/items", {"offset": "-" + HUGE}),
    ("GET", "/admin/users", {"offset": HUGE}),
]


@pytest.mark.parametrize(("method", "path", "params"), PARAMS)
def test_pagination_past_the_bounds_is_422(
    client: TestClient,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    params: dict[str, str],
) -> None:
    response = client.request(method, path, params=params, headers=admin_headers)

    assert response.status_code == 422, response.text


@pytest.mark.parametrize("item_id", [INT32_PAST, HUGE, "99999999999999999999999", "-1", "0"])
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_ids_beyond_the_column_are_422(
    client: TestClient, user_headers: dict[str, str], method: str, item_id: str
) -> None:
    body = {"name": "x"} if method == "PATCH" else None

    response = client.request(method, f"/notes/items/{item_id}", json=body, headers=user_headers)

    assert response.status_code == 422, response.text


def test_the_largest_id_the_column_holds_is_a_plain_404(
    client: TestClient, user_headers: dict[str, str]
) -> None:
    response = client.get(f"/notes/items/{2**31 - 1}", headers=user_headers)

    assert response.status_code == 404


BODIES = [
    ("POST", "/notes/items", {"name": NUL}),
    ("POST", "/notes/items", {"name": "ok", "description": NUL}),
    ("PUT", "/admin/users/someone", {"status": "suspended", "note": NUL}),
    ("PATCH", "/users/me", {"display_name": NUL}),
]


@pytest.mark.parametrize(("method", "path", "body"), BODIES)
def test_nul_in_a_string_is_422(
    client: TestClient,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    body: dict[str, str],
) -> None:
    response = client.request(method, path, json=body, headers=admin_headers)

    assert response.status_code == 422, response.text


SURROGATES = [
    ("POST", "/notes/items", {}, "name"),
    ("POST", "/notes/items", {"name": "ok"}, "description"),
    ("PUT", "/admin/users/someone", {"status": "active"}, "note"),
    ("PATCH", "/users/me", {}, "display_name"),
]


@pytest.mark.parametrize(("method", "path", "body", "field"), SURROGATES)
def test_a_lone_surrogate_in_a_string_is_422(
    client: TestClient,
    admin_headers: dict[str, str],
    method: str,
    path: str,
    body: dict[str, str],
    field: str,
) -> None:
    headers = {**admin_headers, "Content-Type": "application/json"}

    response = client.request(method, path, content=_raw(body, **{field: ""}), headers=headers)

    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_an_existing_item_changed_with_nul_or_a_surrogate_is_422_and_unchanged(
    client: TestClient, user_headers: dict[str, str]
) -> None:
    item = client.post("/notes/items", json={"name": "clean"}, headers=user_headers).json()
    url = f"/notes/items/{item['id']}"
    headers = {**user_headers, "Content-Type": "application/json"}

    assert client.patch(url, json={"name": NUL}, headers=user_headers).status_code == 422
    assert client.patch(url, content=_raw({}, name=""), headers=headers).status_code == 422
    assert client.get(url, headers=user_headers).json() == item


@pytest.mark.parametrize("user_id", ["a%00b", "%00"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_nul_in_a_path_id_is_422(
    client: TestClient, admin_headers: dict[str, str], method: str, user_id: str
) -> None:
    body = {"status": "active"} if method == "PUT" else None

    response = client.request(method, f"/admin/users/{user_id}", json=body, headers=admin_headers)

    assert response.status_code == 422, response.text


def test_ordinary_unicode_is_kept(client: TestClient, user_headers: dict[str, str]) -> None:
    name = "Crème brûlée 🍮 ñ 中文"

    created = client.post("/notes/items", json={"name": name}, headers=user_headers)

    assert created.status_code == 201
    assert created.json()["name"] == name
