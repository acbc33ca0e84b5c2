"""structlog configuration shared by every service: one pipeline for our logs and everyone else's.

structlog events and stdlib records (uvicorn, SQLAlchemy, Celery, httpx) run through the same
processors and land on the same stream: stdlib records through the root handler's
:class:`structlog.stdlib.ProcessorFormatter`, our own events directly (no ``LogRecord`` round
trip on the per-request path). So every line is JSON (or console) alike, carries the
request/task/user ids, and goes through :func:`~spaps_server_quickstart.redaction.redact_secrets`
(the one redaction policy, :mod:`spaps_server_quickstart.redaction`): a secret cannot escape
through a library's log call that we do not control. The Celery worker runs the same setup
(:mod:`spaps_server_quickstart.tasks.worker_logging`).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from .redaction import (
    _MAX_DEPTH,
    REDACTED,
    TRUNCATED,
    escape_control_characters_processor,
    hide_task_payloads,
    redact_secrets,
    strip_query_string,
)
from .request_context import request_id_var, task_id_var, user_id_var
from .settings import BaseServiceSettings

# Re-exported: the redaction names were defined here before they moved to .redaction.
__all__ = [
    "REDACTED",
    "TRUNCATED",
    "add_request_context",
    "add_timestamp",
    "configure_logging",
    "get_logger",
    "redact_secrets",
    "strip_query_string",
]

_HANDLER_MARKER = "_spaps_handler"


def _drop_formatted_message(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    # A stdlib record already formatted by another handler (pytest's caplog) carries
    # ``message``; ExtraAdder would copy it, an unredacted duplicate of ``event``. Uvicorn's
    # ``color_message`` is the same text with terminal colour codes: a duplicate too.
    event_dict.pop("message", None)
    event_dict.pop("color_message", None)
    return event_dict


def add_request_context(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """Add the ids from our contextvars, for code that set them without structlog's help."""
    for key, variable in (
        ("request_id", request_id_var),
        ("task_id", task_id_var),
        ("user_id", user_id_var),
    ):
        if key not in event_dict:
            value = variable.get()
            if value is not None:
                event_dict[key] = value
    return event_dict


_last_second: tuple[int, str] = (-1, "")


def add_timestamp(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """``timestamp``: UTC ISO 8601 with microseconds (``2026-11-26T19:05:00.123456Z``).

    The formatted second is reused until the clock moves on: several times cheaper than
    ``datetime.now(UTC).isoformat()`` on the per-request path, same output.
    """
    global _last_second
    now = time.time()
    second = int(now)
    cached_second, prefix = _last_second
    if second != cached_second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second = (second, prefix)
    event_dict["timestamp"] = f"{prefix}.{int((now - second) * 1_000_000):06d}Z"
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        add_request_context,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        add_timestamp,
    ]


#: Last before the renderer, on both paths: the traceback is turned into text *first*, so
#: redaction sees it. An exception message carries what the code had in hand ("Bearer ...",
#: a URL with ``?api_key=``), and a renderer formatting ``exc_info`` itself would print it
#: after redaction ran. This also means the console shows structlog's plain traceback, not
#: Rich's: Rich prints local variables (no pattern can redact those) and wraps long lines,
#: which splits a token across lines where the pattern no longer sees it.
_REDACTION: list[Processor] = [structlog.processors.format_exc_info, redact_secrets]


class _LineWriter:
    """structlog's final logger: each rendered line goes straight to the stream.

    Our own events skip the stdlib ``LogRecord``/handler/``ProcessorFormatter`` round trip,
    which costs about 30 µs per line (measured: 48 vs 18 µs for an access-log line), and the
    access log writes one line per request. The handler's lock is shared so a line from either
    path is never split by the other.
    """

    def __init__(self, stream: TextIO, lock: Any, name: str) -> None:
        self._stream = stream
        self._lock = lock
        self.name = name  # read by structlog.stdlib.add_logger_name

    def msg(self, message: str) -> None:
        try:
            with self._lock:
                self._stream.write(message + "\n")
                self._stream.flush()
        except (OSError, ValueError):
            # A closed or broken stream (a test's captured stdout, a closed pipe) must not turn
            # a log call into a failed request; stdlib's handleError makes the same choice.
            if logging.raiseExceptions and sys.__stderr__ is not None:
                sys.__stderr__.write(message + "\n")

    debug = info = warning = warn = error = critical = exception = fatal = failure = msg
    err = log = msg


class _LineWriterFactory:
    def __init__(self, stream: TextIO, lock: Any) -> None:
        self._stream = stream
        self._lock = lock

    def __call__(self, *args: Any) -> _LineWriter:
        name = args[0] if args and isinstance(args[0], str) else ""
        return _LineWriter(self._stream, self._lock, name)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    to_structlog = getattr(value, "__structlog__", None)
    if callable(to_structlog):
        return to_structlog()
    return repr(value)


# The stdlib encoder is the fallback for what orjson refuses (integers beyond 64 bits, more
# than 255 levels); :func:`_jsonable` is the last resort for what both refuse (tuple keys,
# cycles). A log call must never fail on an odd value: it would turn a request into a 500.
_JSON_ENCODER = json.JSONEncoder(default=_json_default)
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS
_JSON_KEY_TYPES = (str, int, float, bool, type(None))


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:  # a broken __repr__, or one recursing too deep
        return f"<unrepresentable {type(value).__name__}>"


def _jsonable(value: Any, ancestors: frozenset[int] = frozenset()) -> Any:
    """A copy the stdlib encoder always accepts: odd keys and cyclic values become their repr."""
    if isinstance(value, Mapping | list | tuple):
        if id(value) in ancestors or len(ancestors) > _MAX_DEPTH:
            return _safe_repr(value)
        inside = ancestors | {id(value)}
        if isinstance(value, Mapping):
            return {
                (key if isinstance(key, _JSON_KEY_TYPES) else _safe_repr(key)): _jsonable(
                    item, inside
                )
                for key, item in value.items()
            }
        return [_jsonable(item, inside) for item in value]
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    # Not _json_default: a ``__structlog__`` that raised is likely why we are here.
    return value if isinstance(value, _JSON_KEY_TYPES) else _safe_repr(value)


def _serialize_json(event_dict: Any, **_: Any) -> str:
    """orjson, about ten times faster than ``json`` on an access-log line (0.7 vs 7.6 µs measured)."""
    try:
        return orjson.dumps(event_dict, default=_json_default, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        pass
    try:
        return _JSON_ENCODER.encode(event_dict)
    except Exception:  # tuple keys, cycles ("Circular reference detected"), a raising default
        return _JSON_ENCODER.encode(_jsonable(event_dict))


class TaskPayloadFilter(logging.Filter):
    """Hide task arguments and results in Celery's own records before anything formats them.

    Celery's worker logs a task's result in full ("Task x[id] succeeded in 0.01s: {...}"),
    and its "received" and pool records carry the arguments (as ``data`` extras, or in the
    message at DEBUG). A result or an argument is whatever the task was handed or returned:
    a token, a signed URL, a customer's data. No pattern can tell which, so they are replaced
    by their type (:func:`~spaps_server_quickstart.redaction.hide_task_payloads`).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("celery"):
            hide_task_payloads(record)
        return True


def adopt_uvicorn_loggers() -> None:
    """Route uvicorn's loggers into our handler, unless its access log was switched off.

    Uvicorn configures its loggers with handlers of its own (its format, no redaction);
    they are cleared so the records reach the root handler instead. ``uvicorn.access`` with
    no handler and no propagation is how ``--no-access-log`` (``access_log=False``) leaves it:
    that logger stays silent, as the operator asked. The lifespan calls this again at
    start-up, because ``uvicorn.run(app)`` configures uvicorn's logging after the app (and
    so :func:`configure_logging`) was created.
    """
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        if (
            name == "uvicorn.access"
            and not uvicorn_logger.handlers
            and not uvicorn_logger.propagate
        ):
            continue
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        uvicorn_logger.setLevel(logging.NOTSET)  # follow LOG_LEVEL, not uvicorn's --log-level
        uvicorn_logger.disabled = False


def configure_logging(settings: BaseServiceSettings, *, stream: TextIO | None = None) -> None:
    """Configure structlog and the stdlib root logger from ``settings``. Safe to call again.

    Both paths share the processors and the output stream (``stream`` or ``sys.stdout``):
    structlog events are rendered and written directly; stdlib records (uvicorn, SQLAlchemy,
    Celery, httpx) reach the root handler, whose ``ProcessorFormatter`` runs the same
    processors. Calling it twice replaces our handler instead of adding a second one (no
    doubled lines) and leaves handlers that others (pytest's caplog) installed alone. structlog
    events do not pass through stdlib handlers, so in tests read them from ``stream`` (or use
    ``structlog.testing.capture_logs``), not from ``caplog``.
    """
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise ValueError(f"unknown log level {settings.log_level!r}")

    renderer: Processor
    finishing: list[Processor]
    if settings.log_format == "json":
        renderer = structlog.processors.JSONRenderer(serializer=_serialize_json)
        finishing = [renderer]  # the JSON encoder escapes control characters itself
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
        finishing = [escape_control_characters_processor, renderer]

    output = stream if stream is not None else sys.stdout
    shared = _shared_processors()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.ExtraAdder(),
            _drop_formatted_message,
            *shared,
            *_REDACTION,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finishing],
    )
    handler = logging.StreamHandler(output)
    handler.setFormatter(formatter)
    handler.addFilter(TaskPayloadFilter())
    setattr(handler, _HANDLER_MARKER, True)

    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, _HANDLER_MARKER, False):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    adopt_uvicorn_loggers()
    if not settings.database_echo:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

    structlog.reset_defaults()
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            *_REDACTION,
            *finishing,
        ],
        logger_factory=_LineWriterFactory(output, handler.lock or threading.RLock()),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Not cached: module-level loggers must follow a later configure_logging() (tests,
        # a worker reconfiguring), and resolving the config per call measured within noise.
        cache_logger_on_first_use=False,
    )


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; ``name`` becomes the ``logger`` field of its lines."""
    return structlog.get_logger(name) if name is not None else structlog.get_logger()
