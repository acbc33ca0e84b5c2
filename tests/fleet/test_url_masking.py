"""The CLI's copy of the runtime's URL masking says the same of every URL.

``spaps smoke`` and ``spaps doctor`` print database and broker URLs; the service's own logs,
errors and settings ``repr`` print them through ``spaps_server_quickstart.redaction``. The CLI
cannot import the runtime, so it keeps a copy (spaps_cli/fleet/records.py); these tests are
what keeps the two one policy.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spaps_server_quickstart import redaction

from spaps_cli.fleet import records

URLS = [
    "postgresql+asyncpg://app:s3cret@db:5432/app",
    "postgresql://app:p@ss@db/app",  # "@" inside the password
    "postgresql://app:@db/app",  # empty password
    "postgresql://app@db/app",  # no password
    "postgresql://:only-password@db/app",
    "redis://:hunter2@cache:6379/0",
    "redis://cache:6379/0?password=hunter2&db=1",
    "postgresql://db/app?sslpassword=x&sslmode=require",
    "amqp://guest:guest@mq-a//;amqp://guest:guest@mq-b//",  # Kombu failover list
    "postgresql://app:s3cret@[::1/app",  # unbalanced bracket: urlsplit raises
    "sqlite+aiosqlite:///./service.db",
    "",
]


def test_the_cli_masks_with_the_runtime_s_key_fragments() -> None:
    assert records.SENSITIVE_KEY_FRAGMENTS == redaction.SENSITIVE_KEY_FRAGMENTS
    assert records.MASKED_PASSWORD == redaction.MASKED_PASSWORD


@pytest.mark.parametrize("url", URLS)
def test_the_cli_and_the_runtime_mask_a_url_alike(url: str) -> None:
    assert records.mask_url_password(url) == redaction.mask_url_password(url)


def test_the_secrets_never_show() -> None:
    for url in URLS:
        masked = records.mask_url_password(url)
        for secret in ("s3cret", "p@ss", "only-password", "hunter2", "guest@"):
            assert secret not in masked, (url, masked)


_PART = st.text(alphabet=st.characters(codec="ascii", exclude_characters="\x00"), max_size=12)


@given(
    scheme=st.sampled_from(["postgresql", "postgresql+asyncpg", "redis", "amqp", "mysql"]),
    user=_PART,
    password=st.none() | _PART,
    host=st.sampled_from(["db", "127.0.0.1", "[::1]", "cache:6379"]),
    path=_PART,
    query=st.lists(st.tuples(_PART, _PART), max_size=3),
    failover=st.booleans(),
)
def test_the_two_copies_agree_on_generated_urls(
    scheme: str,
    user: str,
    password: str | None,
    host: str,
    path: str,
    query: list[tuple[str, str]],
    failover: bool,
) -> None:
    userinfo = user + (f":{password}" if password is not None else "")
    url = f"{scheme}://{userinfo}@{host}/{path}"
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query)
    if failover:
        url += f";{url}"
    assert records.mask_url_password(url) == redaction.mask_url_password(url)
