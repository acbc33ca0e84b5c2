"""Copied into a generated service with a ``notes`` domain (crud starter) and run by its pytest.

Records belong to their creator: another user gets 404 (never 403, which would confirm the id
exists) on read, update and delete and does not see them listed; an admin acts on all.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from spaps_server_quickstart.auth.local import mint_dev_token
from spaps_server_quickstart.settings import BaseServiceSettings

ITEMS = "/notes/items"


def _headers(settings: BaseServiceSettings, user_id: str, *roles: str) -> dict[str, str]:
    secret = settings.auth_local_secret.get_secret_value()
    return {"Authorization": f"Bearer {mint_dev_token(secret, user_id, roles=roles)}"}


@pytest.fixture
def alice(spaps_settings: BaseServiceSettings) -> dict[str, str]:
    return _headers(spaps_settings, "alice")


@pytest.fixture
def bob(spaps_settings: BaseServiceSettings) -> dict[str, str]:
    return _headers(spaps_settings, "bob")


@pytest.fixture
def root(spaps_settings: BaseServiceSettings) -> dict[str, str]:
    return _headers(spaps_settings, "root", "admin")


def test_another_user_cannot_read_change_or_delete(
    client: TestClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    item = client.post(ITEMS, json={"name": "alice's"}, headers=alice).json()
    url = f"{ITEMS}/{item['id']}"

    assert client.get(url, headers=bob).status_code == 404
    assert client.patch(url, json={"name": "bob was here"}, headers=bob).status_code == 404
    assert client.delete(url, headers=bob).status_code == 404
    # Worded exactly as for an id that never existed.
    assert client.get(url, headers=bob).json() == {"detail": f"item {item['id']} not found"}
    assert client.get(url, headers=alice).json() == item


def test_lists_show_only_the_callers_items_and_admins_see_all(
    client: TestClient, alice: dict[str, str], bob: dict[str, str], root: dict[str, str]
) -> None:
    client.post(ITEMS, json={"name": "a1"}, headers=alice)
    client.post(ITEMS, json={"name": "b1"}, headers=bob)
    client.post(ITEMS, json={"name": "a2"}, headers=alice)

    mine = client.get(ITEMS, headers=bob).json()
    assert [i["name"] for i in mine["items"]] == ["b1"]
    assert mine["total"] == 1
    everything = client.get(ITEMS, headers=root).json()
    assert [i["name"] for i in everything["items"]] == ["a1", "b1", "a2"]
    assert everything["total"] == 3


def test_an_admin_reads_changes_and_deletes_anyones_item(
    client: TestClient, alice: dict[str, str], root: dict[str, str]
) -> None:
    item = client.post(ITEMS, json={"name": "alice's"}, headers=alice).json()
    url = f"{ITEMS}/{item['id']}"

    assert client.get(url, headers=root).json() == item
    changed = client.patch(url, json={"description": "moderated"}, headers=root)
    assert changed.status_code == 200
    assert changed.json()["created_by"] == "alice"
    assert client.delete(url, headers=root).status_code == 204
    assert client.get(url, headers=alice).status_code == 404
