"""``SecretUrl``: a URL setting that never shows its password.

Database, Redis, broker and result-backend URLs carry passwords. As plain ``str`` settings they
appeared in ``repr(settings)``, ``str`` and ``model_dump_json()``, and from there in tracebacks
and logs. A :class:`SecretUrl` displays the URL with the password masked
(:func:`~spaps_server_quickstart.redaction.mask_url_password`) and hands the real value out only
through ``get_secret_value()``.
"""

from __future__ import annotations

from pydantic import SecretStr

from .redaction import mask_url_password


class SecretUrl(SecretStr):
    """A URL setting whose password never shows: ``repr``, ``str`` and JSON dumps mask it.

    ``postgresql+asyncpg://app:***@db/app``: the scheme, user, host and database stay
    readable (what whoever debugs needs), the password and any password-like query value do
    not. Read the real value with :meth:`get_secret_value`, at the one place that connects.
    """

    def _display(self) -> str:
        return mask_url_password(self.get_secret_value())

    @property
    def scheme(self) -> str:
        """The scheme in lower case (``"postgresql+asyncpg"``), ``""`` when there is none."""
        scheme, separator, _ = self.get_secret_value().strip().partition("://")
        return scheme.lower() if separator else ""


def reveal(value: str | SecretStr) -> str:
    """The real value of a setting that may be a :class:`SecretStr`/:class:`SecretUrl`.

    For the functions that take a URL from either a service's own code (a ``str``) or the
    settings (a :class:`SecretUrl`): ``DatabaseResources.from_url``, the migration helpers.
    """
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def url_schemes(url: str) -> list[str]:
    """Every scheme of a kombu URL (``redis://a;memory://`` is a failover list), lower case."""
    return [
        item.strip().partition("://")[0].lower() if "://" in item else ""
        for item in url.split(";")
        if item.strip()
    ]
