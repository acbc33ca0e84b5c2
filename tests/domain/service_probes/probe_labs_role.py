"""Copied into a generated service next to the ``labs`` domain of docs/DOMAINS.md: the role the
service grants in its account hook opens ``require_roles("labs")``, and only for those it names.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

EXPERIMENTS = "/labs/experiments"


def test_labs_is_granted_next_to_admin_and_to_nobody_else(
    client: TestClient, user_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    assert client.get(EXPERIMENTS).status_code == 401
    refused = client.get(EXPERIMENTS, headers=user_headers)
    assert refused.status_code == 403
    assert 'scope="labs"' in refused.headers["WWW-Authenticate"]

    granted = client.get(EXPERIMENTS, headers=admin_headers)

    assert granted.status_code == 200
    assert granted.json() == ["dark-mode"]
    assert client.get("/users/me", headers=admin_headers).json()["roles"] == [
        "admin",
        "labs",
        "user",
    ]
    assert client.get("/users/me", headers=user_headers).json()["roles"] == ["user"]
