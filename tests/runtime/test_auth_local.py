"""Local dev auth mode: signed tokens, the same middleware, and refusal in production."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from spaps_auth_test_app import build_protected_app
from spaps_production_settings import PRODUCTION_READY
from spaps_server_quickstart.auth import (
    InvalidTokenError,
    LocalAuthService,
    mint_dev_token,
    require_roles,
    verify_dev_token,
)
from spaps_server_quickstart.settings import BaseServiceSettings, SettingsError

SECRET = "a-local-secret"


def local_settings(**extra: object) -> BaseServiceSettings:
    return BaseServiceSettings(env="dev", auth_mode="local", auth_local_secret=SECRET, **extra)  # type: ignore[arg-type]


def test_minted_token_verifies() -> None:
    claims = verify_dev_token(SECRET, mint_dev_token(SECRET, "alice", ["admin"], 60))
    assert (claims.user_id, claims.roles) == ("alice", ("admin",))
    assert claims.expires_at - claims.issued_at == 60


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature
        lambda token: token.replace("spapsdev.", "spapsdev.e30", 1),  # payload
        lambda token: token.replace("spapsdev", "jwt", 1),
        lambda token: token + ".extra",
        lambda token: "",
    ],
)
def test_tampered_tokens_are_rejected(tamper: object) -> None:
    token = mint_dev_token(SECRET, "alice")
    with pytest.raises(InvalidTokenError):
        verify_dev_token(SECRET, tamper(token))  # type: ignore[operator]


def test_token_signed_with_another_secret_is_rejected() -> None:
    with pytest.raises(InvalidTokenError, match="signature"):
        verify_dev_token(SECRET, mint_dev_token("other-secret", "alice"))


def test_expired_token_is_rejected() -> None:
    token = mint_dev_token(SECRET, "alice", ttl_seconds=10, now=time.time() - 20)
    with pytest.raises(InvalidTokenError, match="expired"):
        verify_dev_token(SECRET, token)


def test_local_mode_through_the_middleware() -> None:
    with TestClient(build_protected_app(local_settings(auth_admin_user_ids=["root"]))) as client:
        user = {"Authorization": f"Bearer {mint_dev_token(SECRET, 'alice')}"}
        admin = {"Authorization": f"Bearer {mint_dev_token(SECRET, 'bob', ['admin'])}"}
        listed_admin = {"Authorization": f"Bearer {mint_dev_token(SECRET, 'root')}"}
        forged = {"Authorization": f"Bearer {mint_dev_token('guess', 'mallory', ['admin'])}"}
        assert client.get("/me", headers=user).json()["roles"] == ["user"]
        assert client.get("/admin", headers=user).status_code == 403
        assert client.get("/admin", headers=admin).status_code == 200
        assert client.get("/admin", headers=listed_admin).status_code == 200
        response = client.get("/admin", headers=forged)
        assert response.status_code == 401
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_settings_refuse_local_auth_in_production() -> None:
    with pytest.raises(SettingsError, match="AUTH_MODE=local"):
        BaseServiceSettings(**{**PRODUCTION_READY, "auth_mode": "local"})


def test_local_service_refuses_production_settings_too() -> None:
    prod = BaseServiceSettings(**PRODUCTION_READY)
    with pytest.raises(SettingsError):
        LocalAuthService.from_settings(prod)


def test_empty_local_secret_is_refused() -> None:
    with pytest.raises(SettingsError):
        LocalAuthService(secret="")


def test_cors_added_outside_the_auth_middleware_answers_preflights_without_a_token() -> None:
    from fastapi.middleware.cors import CORSMiddleware

    app = build_protected_app(local_settings())
    app.add_middleware(CORSMiddleware, allow_origins=["https://app.example"], allow_methods=["*"])
    with TestClient(app) as client:
        preflight = client.options(
            "/me",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert client.get("/me", headers={"Origin": "https://app.example"}).status_code == 401


def test_required_roles_are_spelled_like_the_callers_roles() -> None:
    from fastapi import Depends

    app = build_protected_app(local_settings())

    @app.get("/support", dependencies=[Depends(require_roles(" Support", "ADMIN"))])
    async def support() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(app) as client:
        both = {"Authorization": f"Bearer {mint_dev_token(SECRET, 'sam', ['Support', 'admin'])}"}
        one = {"Authorization": f"Bearer {mint_dev_token(SECRET, 'sue', ['SUPPORT'])}"}
        assert client.get("/support", headers=both).json() == {"ok": True}
        refused = client.get("/support", headers=one)
        assert refused.status_code == 403
        assert 'scope="admin support"' in refused.headers["www-authenticate"]


@pytest.mark.parametrize("roles", [(), ("",), ("admin", "  ")])
def test_require_roles_refuses_no_role_or_a_blank_one(roles: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="require_roles"):
        require_roles(*roles)
