"""Copied into a generated service with the ``admin`` starter (and ``notes``, ``users``) and run
by its pytest: an administrator's "suspended" is enforced, not only recorded.
"""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_a_suspended_user_is_refused_everywhere_until_reactivated(
    client: TestClient,
    user_headers: dict[str, str],
    other_user_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    assert client.get("/notes/items", headers=user_headers).status_code == 200
    suspended_user = "test-user"

    put = client.put(
        f"/admin/users/{suspended_user}", json={"status": "suspended"}, headers=admin_headers
    )
    assert put.status_code == 200

    for method, path in [("GET", "/notes/items"), ("GET", "/users/me"), ("GET", "/meta")]:
        refused = client.request(method, path, headers=user_headers)
        assert refused.status_code == 403, (method, path, refused.text)
        assert "suspended" in refused.json()["detail"]
    refused = client.post("/notes/items", json={"name": "x"}, headers=user_headers)
    assert refused.status_code == 403
    # Health stays public, with or without the suspended user's token.
    assert client.get("/health/live", headers=user_headers).status_code == 200
    # Nobody else is affected.
    assert client.get("/notes/items", headers=other_user_headers).status_code == 200
    assert client.get("/admin/users", headers=admin_headers).status_code == 200

    client.put(f"/admin/users/{suspended_user}", json={"status": "active"}, headers=admin_headers)
    assert client.get("/notes/items", headers=user_headers).status_code == 200

    client.put(
        f"/admin/users/{suspended_user}", json={"status": "suspended"}, headers=admin_headers
    )
    assert client.get("/users/me", headers=user_headers).status_code == 403
    # Deleting the account record lifts the suspension as well.
    assert client.delete(f"/admin/users/{suspended_user}", headers=admin_headers).status_code == 204
    assert client.get("/users/me", headers=user_headers).status_code == 200
