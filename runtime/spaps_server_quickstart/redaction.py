"""The one redaction policy: what never reaches a log line, an error message or a ``repr``.

Every way the runtime writes text goes through this module: the structlog processor
(:func:`redact_secrets`, run for our events, stdlib records from uvicorn, SQLAlchemy, httpx and
Celery, on the API and on the worker), the settings (:func:`mask_url_password` is how a
database, Redis or broker URL is displayed) and the testing helpers. Having one copy is the
point: two copies drift, and the one that lags leaks.

The policy:

* values under a sensitive key (:data:`SENSITIVE_KEY_FRAGMENTS`) are replaced by
  :data:`REDACTED`, nested containers included;
* URLs and paths lose their query string (``?token=...``);
* free text (messages, exception text, tracebacks) loses query strings, ``Bearer``/``Basic``
  credentials, the value of anything that looks like ``cookie: ...``, ``'X-Api-Key': '...'``
  or ``password=...``, and the password inside ``scheme://user:password@host``;
* :func:`escape_control_characters` makes text safe for a terminal (the console format).
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Mapping, MutableSequence, Set, ValuesView
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from structlog.typing import EventDict, WrappedLogger

REDACTED = "[REDACTED]"
#: What replaces a container nested deeper than redaction looks: unseen is never logged.
TRUNCATED = "[TRUNCATED]"
#: What replaces the password of a URL (``postgresql://app:***@db/app``), as SQLAlchemy does.
MASKED_PASSWORD = "***"

#: Key fragments whose values are never logged. Matched case-insensitively against the key with
#: ``-`` treated as ``_``, as substrings: ``X-API-Key``, ``spaps_api_key``, ``access_token`` and
#: ``db_password`` are all caught. Over-masking a harmless ``token_count`` is the price of never
#: under-masking.
SENSITIVE_KEY_FRAGMENTS = (
    "authorization",
    "cookie",
    "api_key",
    "apikey",
    "token",
    "password",
    "passwd",
    "secret",
    "credential",
)

#: Keys whose string values are URLs or paths: their query string (``?token=...``) is dropped.
URL_KEYS = frozenset({"url", "uri", "path", "full_path", "raw_path", "referer", "referrer"})

#: Keys whose values the runtime writes itself and that never carry a secret: skipped, so the
#: per-request access line does not pay for checking its timestamp.
_TRUSTED_KEYS = frozenset({"timestamp", "level", "logger", "request_id", "task_id"})

_MAX_DEPTH = 8

#: The only keys redaction may skip: what ``ProcessorFormatter`` adds for its own use (removed
#: again before rendering). Any other key, ``_api_key`` included, is a field and gets redacted.
_STRUCTLOG_INTERNAL_KEYS = frozenset({"_record", "_from_structlog"})

# -- free text ---------------------------------------------------------------------------------

# A query string inside free text: a "?" attached to the word before it (a path, a URL), or any
# "?" starting a "key=value" run, up to the next space, tab or line break. Not up to a quote:
# "/search?q='&token=x" is one request target, and stopping at the quote logged the token.
# Only those separators end it: "\x85", "\x1c" and "\u2028" are whitespace to ``\s`` but are
# just bytes inside a request target.
_QUERY_IN_TEXT = re.compile(r"(?:(?<=[^ \t\r\n])\?[^ \t\r\n]+|\?[^ \t\r\n=]*=[^ \t\r\n]*)")

# A bearer credential inside free text ("sent headers {'Authorization': 'Bearer abc'}").
_BEARER_IN_TEXT = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*")

# ``scheme://user:password@host``: the password, up to the last "@" before the path.
_URL_PASSWORD_IN_TEXT = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/]*@")

_KEY_FRAGMENT = "authorization|cookie|api[_-]?key|token|password|passwd|secret|credential"
# A sensitive name and its value inside free text, in the shapes exception messages take:
#   mapping repr    ``{'x-api-key': 'k'}``          -> the quoted value
#   header tuple    ``(b'cookie', b'a=b')``         -> the quoted value
#   cookie header   ``Cookie: a=b; c=d``            -> the rest of the line (cookies hold spaces)
#   header, kwarg   ``X-Api-Key: k``, ``password=k`` -> up to a separator
# "Authorization: Bearer x" is left to the bearer pattern, which keeps the scheme readable.
# The name's length is bounded on both sides so the pattern stays linear on hostile input.
_SENSITIVE_PAIR_IN_TEXT = re.compile(
    r"(?i)(?<![\w-])(?P<name>[\w-]{0,40}?(?:" + _KEY_FRAGMENT + r")[\w-]{0,40})"
    r"(?P<close>['\"]?)"
    r"(?:"
    r"(?P<sep_quoted>\s*[:,=]\s*)(?P<quoted>b?'[^'\r\n]*'?|b?\"[^\"\r\n]*\"?)"
    r"|(?<=cookie)(?P<sep_line>\s*:[ \t]*)(?P<line>[^\r\n]+)"
    r"|(?P<sep_word>\s*[:=]\s*)(?!(?:bearer|basic)\s)(?P<word>[^\s&,;)}\]'\"]+)"
    r")"
)


#: Cheap substring tests deciding whether the pair pattern is worth running at all.
_TEXT_FRAGMENTS = (
    "authorization",
    "cookie",
    "api",
    "token",
    "password",
    "passwd",
    "secret",
    "credential",
)


def _mask_pair(match: re.Match[str]) -> str:
    name, close = match["name"], match["close"]
    quoted = match["quoted"]
    if quoted is not None:
        prefix = "b" if quoted.startswith("b") else ""
        quote = quoted[len(prefix)]
        return f"{name}{close}{match['sep_quoted']}{prefix}{quote}{REDACTED}{quote}"
    if match["line"] is not None:
        return f"{name}{close}{match['sep_line']}{REDACTED}"
    return f"{name}{close}{match['sep_word']}{REDACTED}"


def clean_text(text: str) -> str:
    """``text`` without query strings, credentials, sensitive values or URL passwords."""
    if "?" in text:
        text = _QUERY_IN_TEXT.sub("", text)
    # casefold, not a list of spellings: "BeArEr x" is a credential too, and anything the
    # case-insensitive patterns can match passes these tests.
    folded = text.casefold()
    if "bearer" in folded or "basic" in folded:
        text = _BEARER_IN_TEXT.sub(rf"\1 {REDACTED}", text)
    if "://" in text and "@" in text:
        text = _URL_PASSWORD_IN_TEXT.sub(rf"\1{MASKED_PASSWORD}@", text)
    if any(fragment in folded for fragment in _TEXT_FRAGMENTS):
        text = _SENSITIVE_PAIR_IN_TEXT.sub(_mask_pair, text)
    return text


def _needs_cleaning(text: str) -> bool:
    """Could :func:`clean_text` change ``text``? A cheap test run on every plain value."""
    return (
        "?" in text
        or " " in text
        or "=" in text
        or ":" in text
        # isprintable() is false for every whitespace character but the space, so
        # "Bearer\tx" is not waved through.
        or not text.isprintable()
    )


# -- URLs ----------------------------------------------------------------------------------------


def strip_query_string(url: str) -> str:
    """``https://h/p?token=x#frag`` -> ``https://h/p#frag``: the query may carry credentials."""
    base, has_query, rest = url.partition("?")
    if not has_query:
        return url
    _, has_fragment, fragment = rest.partition("#")
    return f"{base}#{fragment}" if has_fragment else base


def _is_sensitive_name(name: str) -> bool:
    normalized = name.lower().replace("-", "_")
    return any(fragment in normalized for fragment in SENSITIVE_KEY_FRAGMENTS)


def _mask_one_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        password = parts.password
        query = parts.query
    except ValueError:  # an unbalanced "[" in the host: show nothing rather than guess
        return MASKED_PASSWORD if url else url
    if password is not None:
        userinfo, _, host = parts.netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        parts = parts._replace(netloc=f"{user}:{MASKED_PASSWORD}@{host}")
    if query:
        # redis://h/0?password=x and db://h/d?sslpassword=x carry the secret in the query.
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_sensitive_name(name) for name, _ in pairs):
            masked = [
                (name, MASKED_PASSWORD if _is_sensitive_name(name) else value)
                for name, value in pairs
            ]
            parts = parts._replace(query=urlencode(masked, safe="*"))
    if password is None and parts.query == query:
        return url
    return urlunsplit(parts)


def mask_url_password(url: str) -> str:
    """``url`` with its password (and any password-like query value) replaced by ``***``.

    What a settings ``repr``, an error message or a test's skip reason shows of a database,
    Redis or broker URL: the scheme, user, host and database stay readable for whoever
    debugs, the secret does not. Kombu's failover lists (``redis://a;redis://b``) are masked
    item by item. ``spaps_cli.fleet.records`` keeps a copy for what ``spaps smoke`` and
    ``spaps doctor`` print (the CLI cannot import the runtime); tests/fleet/test_url_masking.py
    holds the two together.
    """
    if ";" in url:
        return ";".join(_mask_one_url(item) for item in url.split(";"))
    return _mask_one_url(url)


# -- terminal safety -----------------------------------------------------------------------------


def _escape_character(character: str) -> str:
    return character.encode("unicode_escape").decode("ascii")


def escape_control_characters(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every non-printable character written as an escape (``\\x1b``, ``\\u2028``).

    A request path is attacker-chosen, and a raw ESC rewrites the operator's terminal, a NUL,
    DEL, NEL (U+0085) or U+2028 forges or hides lines in log viewers. ``keep_newlines`` keeps
    ``\\n`` for the one value that is multi-line by nature (a traceback).
    """
    if text.isprintable():
        return text
    return "".join(
        character
        if character.isprintable() or (keep_newlines and character == "\n")
        else _escape_character(character)
        for character in text
    )


# -- structured values -------------------------------------------------------------------------

_PLAIN, _SENSITIVE, _URL, _TRUSTED = 0, 1, 2, 3
#: Key -> kind. Log keys come from a small, fixed vocabulary, so classifying each distinct key
#: once keeps redaction off the per-request cost (it runs for every access-log line).
_KEY_KINDS: dict[object, int] = {}
_MAX_CACHED_KEYS = 4096


def _classify(key: object) -> int:
    kind = _KEY_KINDS.get(key)
    if kind is not None:
        return kind
    text = key.decode("latin-1", "replace") if isinstance(key, bytes) else key
    if not isinstance(text, str):
        kind = _PLAIN
    else:
        normalized = text.lower().replace("-", "_")
        if any(fragment in normalized for fragment in SENSITIVE_KEY_FRAGMENTS):
            kind = _SENSITIVE
        elif normalized in URL_KEYS:
            kind = _URL
        elif text in _TRUSTED_KEYS:
            kind = _TRUSTED
        else:
            kind = _PLAIN
    if len(_KEY_KINDS) < _MAX_CACHED_KEYS:
        _KEY_KINDS[key] = kind
    return kind


def _is_sensitive(key: object) -> bool:
    try:
        return _classify(key) == _SENSITIVE
    except TypeError:  # unhashable key
        return False


_SCALARS = (int, float, bool, type(None))
#: Containers whose repr lists their items, beyond list/tuple/Mapping: sets and frozensets,
#: dict views (``Set`` covers keys and items, ``ValuesView`` the values), deques and
#: ``UserList`` (``MutableSequence``). The concrete types come first so the common ones skip
#: the slower ABC checks.
_OTHER_CONTAINERS = (set, frozenset, deque, Set, ValuesView, MutableSequence)


def redact(value: Any, depth: int = 0) -> Any:
    """``value`` with the policy applied: nested containers, free text, credentials."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, str):
        return clean_text(value) if _needs_cleaning(value) else value
    if isinstance(value, bytes | bytearray):  # bytearray before the MutableSequence below
        return clean_text(value.decode("utf-8", "replace"))
    if depth > _MAX_DEPTH:
        return TRUNCATED
    if isinstance(value, Mapping):
        return {key: _redact_item(key, item, depth + 1) for key, item in value.items()}
    if isinstance(value, tuple):
        # Header lists: [(b"authorization", b"Bearer ..."), ("cookie", "...")]
        if len(value) == 2 and _is_sensitive(value[0]) and not isinstance(value[1], Mapping):
            return (value[0], REDACTED)
        return tuple(redact(item, depth + 1) for item in value)
    if isinstance(value, list):
        if len(value) == 2 and _is_sensitive(value[0]) and not isinstance(value[1], Mapping):
            return [value[0], REDACTED]
        return [redact(item, depth + 1) for item in value]
    if isinstance(value, _OTHER_CONTAINERS):
        # Every renderer writes these through repr(), which shows their items: unredacted,
        # ``{"Bearer abc"}`` would reach the log as is. A list of redacted items says the same.
        return [redact(item, depth + 1) for item in value]
    # Not any iterable: iterating a generator or a file would consume the caller's object, and
    # their reprs hold no items. An object whose own __repr__ prints a secret is not caught:
    # only its class knows what it holds (give it a ``__structlog__`` or a safe repr).
    return value


def _redact_item(key: object, value: Any, depth: int) -> Any:
    try:
        kind = _classify(key)
    except TypeError:  # unhashable key
        kind = _PLAIN
    if kind == _SENSITIVE:
        return REDACTED
    if kind == _URL and value is not None and not isinstance(value, Mapping):
        return clean_text(strip_query_string(str(value)))
    return redact(value, depth)


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """The structlog processor: apply the policy to every field of the event.

    Runs for every line, the access log included, so the common case (a known plain key with
    a short string or a number) is handled inline without a call.
    """
    for key, value in event_dict.items():
        kind = _KEY_KINDS.get(key)
        if kind is None:
            if key in _STRUCTLOG_INTERNAL_KEYS:
                continue
            kind = _classify(key)
        if kind == _PLAIN:
            value_type = type(value)
            if value_type is str:
                if _needs_cleaning(value):
                    event_dict[key] = clean_text(value)
            elif value_type is not int and value_type is not float and value is not None:
                event_dict[key] = redact(value, 0)
        elif kind == _SENSITIVE:
            event_dict[key] = REDACTED
        elif kind == _TRUSTED:
            if type(value) is not str:  # someone else's value under one of our names
                event_dict[key] = redact(value, 0)
        elif type(value) is str:  # a URL or path: the access log's ``path`` on every line
            if "?" in value:
                value = strip_query_string(value)
            event_dict[key] = clean_text(value) if _needs_cleaning(value) else value
        else:
            event_dict[key] = _redact_item(key, value, 0)
    return event_dict


def escape_control_characters_processor(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """structlog processor for the console format: every string value made terminal-safe.

    JSON needs no such step: its encoder escapes control characters itself.
    """
    for key, value in event_dict.items():
        if type(value) is str and not value.isprintable():
            event_dict[key] = escape_control_characters(
                value, keep_newlines=key in ("exception", "stack")
            )
    return event_dict


# -- Celery's records ----------------------------------------------------------------------------

#: Fields of Celery's log contexts that hold a task's arguments or its result.
TASK_PAYLOAD_FIELDS = frozenset({"args", "kwargs", "return_value", "retval", "result"})

#: The one Celery message that formats arguments positionally (``celery.pool``, at DEBUG).
_POOL_APPLY_PREFIX = "TaskPool: Apply"


def hidden_payload(value: object) -> str:
    """What a task argument or result is logged as: never its content.

    Celery hands most of them over already turned into a ``repr`` string, so a ``str`` says
    nothing about the value's type and is shown as ``<hidden>``; anything else by its type.
    """
    if isinstance(value, str):
        return "<hidden>"
    return f"<hidden {type(value).__name__}>"


def _hide_in_context(context: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: hidden_payload(value) if key in TASK_PAYLOAD_FIELDS else value
        for key, value in context.items()
    }


def hide_task_payloads(record: logging.LogRecord) -> None:
    """Replace task arguments and results in one of Celery's records, in place.

    Celery passes its context as the record's mapping ``args`` (formatted into the message)
    and again as the ``data`` extra; both are replaced by copies. The mapping itself is
    Celery's, so it is never edited.
    """
    args = record.args
    if isinstance(args, Mapping) and TASK_PAYLOAD_FIELDS.intersection(args):
        record.args = _hide_in_context(args)
    elif (
        isinstance(args, tuple)
        and len(args) == 3
        and isinstance(record.msg, str)
        and record.msg.startswith(_POOL_APPLY_PREFIX)
    ):
        record.args = (args[0], hidden_payload(args[1]), hidden_payload(args[2]))
    data = getattr(record, "data", None)
    if isinstance(data, Mapping) and TASK_PAYLOAD_FIELDS.intersection(data):
        record.data = _hide_in_context(data)
