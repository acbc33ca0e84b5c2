"""A structlog logger for the per-request path: bound once, re-bound when structlog is reconfigured.

structlog's lazy proxy (what :func:`structlog.get_logger` returns while
``cache_logger_on_first_use`` is off) assembles a new bound logger, and asks the logger factory
for a new writer, on *every* call: about 11 µs of each access-log line, measured in place with
``bench/middleware.py``. Turning caching on globally would pin a proxy to the pipeline of its
first use, so a later :func:`~spaps_server_quickstart.logging.configure_logging` (tests, a
Celery worker reconfiguring, ``structlog.testing.capture_logs``) would be ignored.
:class:`CachedLogger` keeps the bound logger and checks, by identity, that the configuration it
was built from is still the current one: four identity checks instead of a rebuild.
"""

from __future__ import annotations

from typing import Any

import structlog


class CachedLogger:
    """``structlog.get_logger(name)``, minus the per-call assembly.

    ``info``/``warning``/``error``/``debug``/``exception`` are forwarded directly; anything else
    (``bind``, ``new``, ...) reaches the current bound logger through attribute lookup.
    """

    __slots__ = ("_bound", "_built_from", "_name")

    def __init__(self, name: str | None = None) -> None:
        self._name = name
        self._bound: Any = None
        self._built_from: tuple[object, ...] = ()

    def _current(self) -> Any:
        config = structlog.get_config()
        built_from = self._built_from
        if (
            built_from
            and config["processors"] is built_from[0]
            and config["logger_factory"] is built_from[1]
            and config["wrapper_class"] is built_from[2]
            and config["context_class"] is built_from[3]
        ):
            return self._bound
        proxy = structlog.get_logger(self._name) if self._name else structlog.get_logger()
        self._bound = proxy.bind()
        self._built_from = (
            config["processors"],
            config["logger_factory"],
            config["wrapper_class"],
            config["context_class"],
        )
        return self._bound

    def debug(self, event: str, **fields: Any) -> Any:
        return self._current().debug(event, **fields)

    def info(self, event: str, **fields: Any) -> Any:
        return self._current().info(event, **fields)

    def warning(self, event: str, **fields: Any) -> Any:
        return self._current().warning(event, **fields)

    def error(self, event: str, **fields: Any) -> Any:
        return self._current().error(event, **fields)

    def exception(self, event: str, **fields: Any) -> Any:
        return self._current().exception(event, **fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._current(), name)
