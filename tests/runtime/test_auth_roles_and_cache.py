"""The role rule and the validation cache, on their own (fake clocks, no network)."""

from __future__ import annotations

import datetime as dt

import anyio
import pytest
from spaps_server_quickstart.auth import ADMIN, USER, AuthenticatedUser, derive_roles
from spaps_server_quickstart.auth.errors import AuthUnavailableError
from spaps_server_quickstart.auth.validation_cache import ValidationCache, token_digest

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("tier", "explicit", "admins", "expected"),
    [
        ("free", None, (), {USER}),
        (None, None, (), {USER}),
        ("admin", None, (), {USER, ADMIN}),
        ("ADMIN", None, (), {USER, ADMIN}),
        ("premium", None, ("u1",), {USER, ADMIN}),
        ("premium", None, ("U1",), {USER}),  # ids are exact
        ("free", [" Admin ", "", "support"], (), {USER, ADMIN, "support"}),
        ("free", [], (), {USER}),
    ],
)
def test_derive_roles(
    tier: str | None, explicit: list[str] | None, admins: tuple[str, ...], expected: set[str]
) -> None:
    assert (
        derive_roles(user_id="u1", tier=tier, explicit_roles=explicit, admin_user_ids=admins)
        == expected
    )


def user(expires_in: float | None = 3600, user_id: str = "u1") -> AuthenticatedUser:
    return AuthenticatedUser(
        user_id=user_id,
        application_id="app",
        session_id="s",
        roles=frozenset({USER}),
        tier=None,
        expires_at=None if expires_in is None else NOW + dt.timedelta(seconds=expires_in),
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_cache(clock: FakeClock, ttl: float = 30, max_entries: int = 100) -> ValidationCache:
    return ValidationCache(
        ttl_seconds=ttl, max_entries=max_entries, clock=clock, wall_clock=lambda: NOW
    )


@pytest.mark.anyio
async def test_ttl_is_capped_by_token_expiry() -> None:
    clock = FakeClock()
    cache = make_cache(clock, ttl=30)
    loads = 0

    async def load() -> AuthenticatedUser:
        nonlocal loads
        loads += 1
        return user(expires_in=5)

    await cache.get_or_load("t", load)
    clock.now = 4.9
    await cache.get_or_load("t", load)
    assert loads == 1
    clock.now = 5.0
    await cache.get_or_load("t", load)
    assert loads == 2


@pytest.mark.anyio
async def test_already_expired_results_are_not_stored() -> None:
    cache = make_cache(FakeClock())

    async def load() -> AuthenticatedUser:
        return user(expires_in=-1)

    await cache.get_or_load("t", load)
    assert len(cache) == 0


@pytest.mark.anyio
async def test_cache_is_bounded_lru() -> None:
    cache = make_cache(FakeClock(), max_entries=2)
    loads: list[str] = []

    def loader(token: str):  # type: ignore[no-untyped-def]
        async def load() -> AuthenticatedUser:
            loads.append(token)
            return user(user_id=token)

        return load

    for token in ("a", "b", "a", "c", "a", "b"):
        await cache.get_or_load(token, loader(token))
    # "b" was least recently used when "c" arrived, so it was evicted and loaded again.
    assert loads == ["a", "b", "c", "b"]
    assert len(cache) == 2


@pytest.mark.anyio
async def test_errors_are_not_cached_and_shared_by_concurrent_waiters() -> None:
    cache = make_cache(FakeClock())
    calls = 0
    release = anyio.Event()

    async def failing() -> AuthenticatedUser:
        nonlocal calls
        calls += 1
        await release.wait()
        raise AuthUnavailableError("down")

    failures = 0

    async def attempt() -> None:
        nonlocal failures
        try:
            await cache.get_or_load("t", failing)
        except AuthUnavailableError:
            failures += 1

    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(attempt)
        await anyio.sleep(0.01)
        release.set()
    assert (calls, failures, len(cache)) == (1, 5, 0)

    async def working() -> AuthenticatedUser:
        return user()

    assert (await cache.get_or_load("t", working)).user_id == "u1"


@pytest.mark.anyio
async def test_one_cancelled_waiter_does_not_cancel_the_shared_lookup() -> None:
    cache = make_cache(FakeClock())
    release = anyio.Event()

    async def slow() -> AuthenticatedUser:
        await release.wait()
        return user()

    results: list[str] = []

    async def patient() -> None:
        results.append((await cache.get_or_load("t", slow)).user_id)

    async with anyio.create_task_group() as group:
        with anyio.move_on_after(0.01):
            await cache.get_or_load("t", slow)  # gives up
        group.start_soon(patient)
        await anyio.sleep(0.01)
        release.set()
    assert results == ["u1"]


def test_keys_are_sha256_digests_not_tokens() -> None:
    digest = token_digest("secret-token")
    assert len(digest) == 64
    assert "secret-token" not in digest
