"""Sentry error tracking, switched on by ``SENTRY_DSN``.

``sentry_sdk.init`` with the service's name, version and environment, and without personal
data (``send_default_pii=False``: no cookies, no ``Authorization``, no client address). The SDK's
FastAPI/Starlette integrations report unhandled exceptions; each event is tagged with the
request id (:func:`tag_request`, called by
:class:`~spaps_server_quickstart.request_context.RequestContextMiddleware`), the same id as the
response's ``X-Request-ID`` and the request's log lines.

The SDK is global to the process (one client, integrations patched into Starlette once), so
calling :func:`init_sentry` again replaces the client. It comes with the ``sentry`` extra.
"""

from __future__ import annotations

from typing import Any

from .settings import BaseServiceSettings


class SentryUnavailableError(RuntimeError):
    """``SENTRY_DSN`` is set but ``sentry-sdk`` is not installed."""


def init_sentry(settings: BaseServiceSettings, *, release: str, **options: Any) -> None:
    """Start reporting to ``settings.sentry_dsn``. ``options`` go to ``sentry_sdk.init``."""
    if settings.sentry_dsn is None:
        return
    try:
        import sentry_sdk
    except ImportError as error:
        raise SentryUnavailableError(
            "SENTRY_DSN is set but sentry-sdk is not installed:"
            " install spaps-server-quickstart[sentry]"
        ) from error
    sentry_sdk.init(
        **{
            "dsn": settings.sentry_dsn.get_secret_value(),
            "environment": settings.env,
            "release": f"{settings.service_name}@{release}",
            "server_name": settings.service_name,
            "traces_sample_rate": settings.sentry_traces_sample_rate,
            "send_default_pii": False,
            **options,
        }
    )


def tag_request(request_id: str) -> None:
    """Tag what Sentry reports for the current request with its request id.

    On the request's isolation scope, which the SDK's ASGI middleware forks per request: the
    tag reaches an event captured after our middleware has returned, when the request id is no
    longer in any contextvar.
    """
    import sentry_sdk

    sentry_sdk.set_tag("request_id", request_id)
