"""OpenTelemetry tracing: FastAPI's own server spans, tied to the request id and the logs.

FastAPI traces requests natively since 0.142 (``FastAPI(telemetry=...)``; the ``otel`` extra
requires that version): one server span per request, named after the route template,
continuing the caller's W3C ``traceparent``. The runtime adds no second instrumentation; it
chooses the tracer provider and ties the two ids together:

- the span carries the request id (attribute :data:`REQUEST_ID_ATTRIBUTE`), so a trace found in
  the tracing backend leads to the request's log lines;
- every log line of the request carries ``trace_id`` and ``span_id``
  (the hook from :func:`tracing_request_hook`, bound for the request by
  :class:`~spaps_server_quickstart.request_context.RequestContextMiddleware`), so a log line leads
  to its trace.

Spans go to ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (OTLP over HTTP) when it is set, else to the
process's global tracer provider (what ``opentelemetry-instrument`` or the service configured),
or to the provider passed as ``create_app(tracer_provider=...)``. The SDK and the exporter come
with the ``otel`` extra.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from .settings import BaseServiceSettings

#: The span attribute holding the request id (the ``X-Request-ID`` of the response).
REQUEST_ID_ATTRIBUTE = "spaps.request_id"


class TracingUnavailableError(RuntimeError):
    """Tracing was asked for, but this installation cannot provide it."""


def tracing_request_hook() -> Callable[[str], dict[str, str] | None]:
    """The request hook tying a request to its trace (see the module docstring).

    It tags the current span with the request id and returns the trace and span ids for the
    request's log lines; ``None`` outside a recorded span (no provider, an excluded request).
    """
    from opentelemetry import trace

    get_current_span = trace.get_current_span

    def hook(request_id: str) -> dict[str, str] | None:
        span = get_current_span()
        context = span.get_span_context()
        if not context.is_valid:
            return None
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)
        return {
            "trace_id": format(context.trace_id, "032x"),
            "span_id": format(context.span_id, "016x"),
        }

    return hook


def exporting_tracer_provider(settings: BaseServiceSettings) -> Any:
    """An SDK tracer provider sending batches to the configured OTLP/HTTP endpoint."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        raise TracingUnavailableError(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set but the OpenTelemetry SDK or exporter is"
            " not installed: install spaps-server-quickstart[otel]"
        ) from error
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": settings.service_name, "deployment.environment.name": settings.env}
        )
    )
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otel_exporter_otlp_traces_endpoint))
    )
    return provider


def telemetry_options(
    settings: BaseServiceSettings, tracer_provider: Any, given: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The ``telemetry=`` argument for ``FastAPI(...)``; ``None`` to leave FastAPI's default.

    ``given`` is what the service passed as ``create_app(telemetry=...)``: its keys win.
    """
    if tracer_provider is None and not settings.tracing_enabled:
        return given
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        raise TracingUnavailableError(
            "tracing needs FastAPI's native OpenTelemetry support (FastAPI 0.142 or later):"
            " install spaps-server-quickstart[otel], or unset OTEL_ENABLED and"
            " OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        )
    if tracer_provider is None and settings.otel_exporter_otlp_traces_endpoint is not None:
        tracer_provider = exporting_tracer_provider(settings)
    options: dict[str, Any] = {"tracing": True}
    if tracer_provider is not None:
        options["tracer_provider"] = tracer_provider
    return {**options, **(given or {})}
