"""configure_logging: JSON/console output, stdlib routing, context ids, redaction, idempotence."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from spaps_server_quickstart.logging import (
    REDACTED,
    TRUNCATED,
    _serialize_json,
    configure_logging,
    get_logger,
    strip_query_string,
)
from spaps_server_quickstart.request_context import bind_context, reset_context, user_id_var
from spaps_server_quickstart.settings import BaseServiceSettings

Configure = Callable[..., io.StringIO]


@pytest.fixture
def configure() -> Iterator[Configure]:
    """Configure logging into a fresh buffer; restore the root logger afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level

    def run(**settings: Any) -> io.StringIO:
        stream = io.StringIO()
        configure_logging(BaseServiceSettings(**{"log_format": "json", **settings}), stream=stream)
        return stream

    yield run
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    structlog.reset_defaults()


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_lines_carry_level_logger_timestamp_and_fields(configure: Configure) -> None:
    stream = configure()
    get_logger("svc.orders").info("order_created", order_id=7)
    [line] = parsed(stream)
    assert line["event"] == "order_created"
    assert line["order_id"] == 7
    assert line["level"] == "info"
    assert line["logger"] == "svc.orders"
    assert line["timestamp"].endswith("Z")


def test_stdlib_records_go_through_the_same_pipeline(configure: Configure) -> None:
    stream = configure()
    tokens = bind_context(request_id="rid-std")
    try:
        logging.getLogger("some.library").warning("retrying %s in %ds", "upload", 3)
    finally:
        reset_context(tokens)
    [line] = parsed(stream)
    assert line["event"] == "retrying upload in 3s"
    assert line["logger"] == "some.library"
    assert line["level"] == "warning"
    assert line["request_id"] == "rid-std"


def test_request_task_and_user_ids_are_merged_from_context(configure: Configure) -> None:
    stream = configure()
    tokens = bind_context(request_id="r-1", task_id="t-1")
    user_token = user_id_var.set("u-1")  # set without structlog's help, like a third party
    try:
        get_logger("svc").info("inside")
    finally:
        user_id_var.reset(user_token)
        reset_context(tokens)
    get_logger("svc").info("outside")
    inside, outside = parsed(stream)
    assert (inside["request_id"], inside["task_id"], inside["user_id"]) == ("r-1", "t-1", "u-1")
    assert not {"request_id", "task_id", "user_id"} & set(outside)


def test_secrets_are_masked_at_any_depth_and_any_case(configure: Configure) -> None:
    stream = configure()
    get_logger("svc").info(
        "outbound_call",
        headers={
            "Authorization": "Bearer abc.def",
            "COOKIE": "session=1",
            "Set-Cookie": "session=2",
            "X-API-Key": "k-123",
            "Accept": "application/json",
        },
        config={"database": {"password": "pw-1", "host": "db"}, "spaps_api_key": "k-456"},
        token="tok-1",
        client_secret="s-1",
        raw_headers=[(b"authorization", b"Bearer raw-1"), (b"accept", b"*/*")],
        note="sent Authorization: Bearer freetext-token to upstream",
    )
    [line] = parsed(stream)
    text = json.dumps(line)
    for secret in ("abc.def", "session=1", "session=2", "k-123", "pw-1", "k-456", "tok-1", "s-1"):
        assert secret not in text
    assert "raw-1" not in text
    assert "freetext-token" not in text
    assert line["headers"]["Authorization"] == REDACTED
    assert line["headers"]["Accept"] == "application/json"
    assert line["config"]["database"] == {"password": REDACTED, "host": "db"}
    assert line["token"] == REDACTED


def test_stdlib_extra_fields_are_redacted_too(configure: Configure) -> None:
    stream = configure()
    logging.getLogger("lib").info("calling", extra={"authorization": "Bearer extra-1"})
    [line] = parsed(stream)
    assert line["authorization"] == REDACTED


def test_query_strings_are_stripped_from_urls_and_messages(configure: Configure) -> None:
    stream = configure()
    get_logger("svc").info("fetched", url="https://api.example/v1/x?token=q-1#frag", path="/a?b=c")
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/items?api_key=q-2", "1.1", 200
    )
    logging.getLogger("httpx").info("HTTP Request: GET https://h.example/p?access_token=q-3 200")
    first, second, third = parsed(stream)
    assert first["url"] == "https://api.example/v1/x#frag"
    assert first["path"] == "/a"
    assert second["event"] == '127.0.0.1:5000 - "GET /items HTTP/1.1" 200'
    assert third["event"] == "HTTP Request: GET https://h.example/p 200"


def test_question_marks_in_plain_text_survive(configure: Configure) -> None:
    stream = configure()
    get_logger("svc").info("is it ready? yes")
    assert parsed(stream)[0]["event"] == "is it ready? yes"


def test_configuring_twice_does_not_duplicate_lines(configure: Configure) -> None:
    configure()
    stream = configure()
    get_logger("svc").info("once")
    logging.getLogger("lib").info("once too")
    assert [line["event"] for line in parsed(stream)] == ["once", "once too"]
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_spaps_handler", False)]
    assert len(ours) == 1


def test_level_filters_structlog_and_stdlib(configure: Configure) -> None:
    stream = configure(log_level="WARNING")
    get_logger("svc").info("hidden")
    logging.getLogger("lib").info("hidden too")
    get_logger("svc").warning("shown")
    assert [line["event"] for line in parsed(stream)] == ["shown"]


def test_console_format_is_human_readable_and_still_redacted(configure: Configure) -> None:
    stream = configure(log_format="console")
    get_logger("svc").info("hello", password="pw-console")
    output = stream.getvalue()
    assert "hello" in output
    assert "pw-console" not in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output.splitlines()[0])


def test_exceptions_are_rendered_in_json(configure: Configure) -> None:
    stream = configure()
    try:
        raise ValueError("bad input")
    except ValueError:
        get_logger("svc").exception("failed")
    [line] = parsed(stream)
    assert "ValueError: bad input" in line["exception"]


def test_unknown_level_is_refused(configure: Configure) -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure(log_level="LOUD")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/p?a=1", "/p"),
        ("https://h/p?a=1#f", "https://h/p#f"),
        ("https://h/p", "https://h/p"),
    ],
)
def test_strip_query_string(url: str, expected: str) -> None:
    assert strip_query_string(url) == expected


def test_a_reconfigured_stream_is_followed_by_existing_loggers(configure: Configure) -> None:
    module_level = get_logger("svc.module")  # created once, like a module-level logger
    first = configure()
    module_level.info("one")
    second = configure()
    module_level.info("two")
    assert [line["event"] for line in parsed(first)] == ["one"]
    assert [line["event"] for line in parsed(second)] == ["two"]


def test_a_closed_stream_never_breaks_the_caller(
    configure: Configure, capfd: pytest.CaptureFixture[str]
) -> None:
    stream = configure()
    stream.close()
    get_logger("svc").info("still fine")  # must not raise into the request
    assert "still fine" in capfd.readouterr().err


def test_timestamps_are_utc_iso_8601_with_microseconds(configure: Configure) -> None:
    import datetime as dt

    stream = configure()
    before = dt.datetime.now(dt.UTC)
    get_logger("svc").info("tick")
    get_logger("svc").info("tock")
    after = dt.datetime.now(dt.UTC)
    stamps = [dt.datetime.fromisoformat(line["timestamp"]) for line in parsed(stream)]
    assert all(before - dt.timedelta(seconds=1) <= stamp <= after for stamp in stamps)
    assert all(stamp.tzinfo == dt.UTC for stamp in stamps)
    assert stamps[0] <= stamps[1]


def test_bytes_and_arbitrary_objects_render_in_json(configure: Configure) -> None:
    class Money:
        def __repr__(self) -> str:
            return "Money(9.50 EUR)"

    stream = configure()
    get_logger("svc").info("paid", raw=b"caf\xc3\xa9", amount=Money(), items=[b"a"])
    [line] = parsed(stream)
    assert line["raw"] == "café"
    assert line["amount"] == "Money(9.50 EUR)"
    assert line["items"] == ["a"]


def test_values_orjson_refuses_fall_back_to_the_stdlib_encoder(configure: Configure) -> None:
    stream = configure()
    huge = 2**70  # beyond orjson's 64-bit integers
    get_logger("svc").info("odd", huge=huge, by_id={1: "one", None: "none"})
    [line] = parsed(stream)
    assert line["huge"] == huge
    assert line["by_id"] == {"1": "one", "null": "none"}


def test_non_string_keys_and_datetimes_render(configure: Configure) -> None:
    import datetime as dt

    stream = configure()
    moment = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    get_logger("svc").info("keys", counts={404: 2, 500: 1}, at=moment)
    [line] = parsed(stream)
    assert line["counts"] == {"404": 2, "500": 1}
    assert dt.datetime.fromisoformat(line["at"]) == moment


def test_cached_logger_follows_reconfiguration_and_capture_logs(configure: Configure) -> None:
    from spaps_server_quickstart.cached_logger import CachedLogger

    access = CachedLogger("svc.access")  # created once, like the middleware's logger
    first = configure()
    access.info("one", status=200)
    second = configure(log_level="WARNING")  # new stream, new level: both must be followed
    access.info("filtered")
    access.warning("two")
    with structlog.testing.capture_logs() as captured:
        access.error("three", status=500)
    access.error("four")
    assert [line["event"] for line in parsed(first)] == ["one"]
    assert [line["event"] for line in parsed(second)] == ["two", "four"]
    assert captured == [{"event": "three", "status": 500, "log_level": "error"}]
    assert parsed(first)[0]["logger"] == "svc.access"
    assert access.bind(extra=1) is not None  # anything else reaches the bound logger


def raise_with_credentials() -> None:
    token = "exc-bearer-1"  # the point of the test: it never reaches the log
    raise RuntimeError(
        f"upstream refused Authorization: Bearer {token} for https://h.example/x?token=exc-q-1"
    )


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_exception_text_is_redacted(configure: Configure, log_format: str) -> None:
    stream = configure(log_format=log_format)
    try:
        raise_with_credentials()
    except RuntimeError:
        get_logger("svc").exception("call_failed")
        logging.getLogger("lib").exception("lib_failed")
    output = stream.getvalue()
    assert output.count("RuntimeError: upstream refused Authorization: Bearer [REDACTED]") == 2
    assert "https://h.example/x for" not in output  # the message, not the source line
    assert output.count("https://h.example/x") >= 2
    for secret in ("exc-bearer-1", "exc-q-1", "token=exc"):
        assert secret not in output


def test_uvicorn_exception_in_asgi_application_is_redacted(configure: Configure) -> None:
    """uvicorn logs the traceback of an unhandled error through the stdlib pipeline."""
    import httpx
    from fastapi import FastAPI
    from spaps_server_quickstart.testing.loopback import serve_on_loopback

    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise_with_credentials()

    stream = configure()
    with serve_on_loopback(app, log_level="error", log_config=None) as url:
        assert httpx.get(url + "/boom").status_code == 500
    [line] = [line for line in parsed(stream) if "Exception in ASGI application" in line["event"]]
    assert "Bearer [REDACTED] for https://h.example/x" in line["exception"]
    assert "exc-bearer-1" not in stream.getvalue()
    assert "exc-q-1" not in stream.getvalue()


def test_containers_beyond_the_depth_limit_are_truncated_not_logged(configure: Configure) -> None:
    stream = configure()
    deep: dict[str, Any] = {"password": "deep-secret", "note": "Bearer deep-bearer"}
    for level in range(12):
        deep = {f"l{level}": deep}
    get_logger("svc").info("deep", cfg=deep, items=[[[[[[[[[[["Bearer list-bearer"]]]]]]]]]]])
    output = stream.getvalue()
    assert "deep-secret" not in output
    assert "deep-bearer" not in output
    assert "list-bearer" not in output
    assert TRUNCATED in output


def test_underscore_keys_are_fields_and_redacted(configure: Configure) -> None:
    stream = configure()
    get_logger("svc").info("u", _api_key="underscore-secret", _note="Bearer underscore-bearer")
    logging.getLogger("lib").info("u", extra={"_password": "stdlib-underscore-secret"})
    first, second = parsed(stream)
    assert first["_api_key"] == REDACTED
    assert first["_note"] == f"Bearer {REDACTED}"
    assert second["_password"] == REDACTED
    assert "_record" not in second


@pytest.mark.parametrize(
    "text",
    [
        "BeArEr mixed-token sent",
        "sent\tBearer\ttab-token",
        "sent\nbearer\nnewline-token",
        "bearer\u00a0nbsp-token",
        "BASIC\tbasic-token",
    ],
)
def test_bearer_credentials_are_found_in_any_case_and_whitespace(
    configure: Configure, text: str
) -> None:
    stream = configure()
    get_logger("svc").info(text, detail=text, nested={"detail": text})
    [line] = parsed(stream)
    for value in (line["event"], line["detail"], line["nested"]["detail"]):
        assert "-token" not in value
        assert REDACTED in value


def test_values_no_encoder_accepts_are_logged_as_their_repr(configure: Configure) -> None:
    stream = configure()
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    get_logger("svc").info("odd", counts={("a", 1): 3}, keys={frozenset({1}): 1}, data=cyclic)
    logging.getLogger("lib").info("stdlib_odd", extra={"counts": {("b", 2): 4}})
    first, second = parsed(stream)
    assert first["counts"] == {"('a', 1)": 3}
    assert first["keys"] == {"frozenset({1})": 1}
    assert second["counts"] == {"('b', 2)": 4}


def test_the_json_serializer_never_raises() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    loop: dict[str, Any] = {}
    loop["self"] = loop

    class Broken:
        def __structlog__(self) -> str:
            raise RuntimeError("no")

    line = json.loads(
        _serialize_json(
            {"event": "e", "data": cyclic, "loop": loop, "k": {(1, 2): 2**70}, "b": Broken()}
        )
    )
    assert line["data"] == ["[[...]]"]
    assert line["loop"] == {"self": "{'self': {...}}"}
    assert line["k"] == {"(1, 2)": 2**70}
    assert line["b"].startswith("<")


def test_sets_deques_and_dict_views_are_redacted_like_lists(configure: Configure) -> None:
    """Their repr lists the items, so they are redacted item by item and logged as lists."""
    from collections import UserList, deque

    stream = configure()
    get_logger("svc").info(
        "containers",
        tags={"Bearer set-bearer"},
        frozen=frozenset({"https://h.example/p?token=frozen-token"}),
        recent=deque(["Bearer deque-bearer"]),
        user_list=UserList(["Bearer userlist-bearer"]),
        values={"a": "Bearer view-bearer"}.values(),
        items={"authorization": "items-secret"}.items(),
        nested={"inner": {"Bearer nested-set-bearer"}},
        raw=bytearray(b"Bearer bytearray-bearer"),
    )
    logging.getLogger("lib").info("stdlib", extra={"tags": {"Bearer stdlib-set-bearer"}})
    output = stream.getvalue()
    for secret in ("set-bearer", "frozen-token", "deque-bearer", "userlist-bearer"):
        assert secret not in output
    for secret in ("view-bearer", "items-secret", "bytearray-bearer"):
        assert secret not in output
    first, _second = parsed(stream)
    assert first["tags"] == [f"Bearer {REDACTED}"]
    assert first["frozen"] == ["https://h.example/p"]
    assert first["recent"] == [f"Bearer {REDACTED}"]
    assert first["items"] == [["authorization", REDACTED]]
    assert first["nested"] == {"inner": [f"Bearer {REDACTED}"]}
    assert first["raw"] == f"Bearer {REDACTED}"


def test_iterators_are_not_consumed_by_redaction(configure: Configure) -> None:
    stream = configure()
    numbers = iter([1, 2, 3])
    get_logger("svc").info("iterator", numbers=numbers)
    assert list(numbers) == [1, 2, 3]
    assert "list_iterator" in parsed(stream)[0]["numbers"]


# -- issue 14 items 8 and 9: query strings past quotes, uvicorn's access log, cookies, terminals


@pytest.mark.parametrize(
    "target",
    [
        "/search?q='&token=SECRET-q1",
        '/search?q="&token=SECRET-q1',
        "/search?q=%27&token=SECRET-q1",
        "/search?q=\x85&token=SECRET-q1",
        "/search?q=\u2028&token=SECRET-q1",
        "/p'?token=SECRET-q1",
        "?token=SECRET-q1",
    ],
)
def test_query_string_stripping_does_not_stop_at_a_quote(configure: Configure, target: str) -> None:
    """Item 8: ``?q='&token=SECRET`` kept everything after the quote."""
    stream = configure()
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", target, "1.1", 200
    )
    get_logger("svc").info(f"fetched {target} ok")
    output = stream.getvalue()
    assert "SECRET-q1" not in output
    assert len(parsed(stream)) == 2


def test_cookie_and_api_key_values_in_exception_text_are_redacted(configure: Configure) -> None:
    """Item 9: bearer values were masked in exception text, cookies and API keys were not."""
    for log_format in ("json", "console"):
        stream = configure(log_format=log_format)
        try:
            raise RuntimeError(
                "upstream refused headers {'Cookie': 'sid=SECRET-c1; theme=dark',"
                " 'X-Api-Key': 'SECRET-k1'} and [(b'cookie', b'sid=SECRET-c2'),"
                " (b'x-api-key', b'SECRET-k2')]\nCookie: sid=SECRET-c3; a=b\n"
                "X-Api-Key: SECRET-k3\nSet-Cookie: sid=SECRET-c4; HttpOnly\n"
                "api_key=SECRET-k4&other=1 password=SECRET-p1"
            )
        except RuntimeError:
            get_logger("svc").exception("call_failed")
            logging.getLogger("lib").exception("lib_failed")
        output = stream.getvalue()
        assert "call_failed" in output
        assert "lib_failed" in output
        for secret in ("SECRET-c", "SECRET-k", "SECRET-p"):
            assert secret not in output, (log_format, secret)


def test_the_console_format_escapes_control_characters(configure: Configure) -> None:
    """Item 9: ESC, NUL, DEL, NEL and U+2028 from request paths reached the terminal raw."""
    stream = configure(log_format="console")
    path = "/a\x1b[2Jb\x00c\x7fd\x85e\u2028f\u2029g\rh"
    get_logger("spaps.access").info("request", path=path, method="GET", status=404)
    logging.getLogger("uvicorn.error").warning("odd path %s", path)
    try:
        raise ValueError(f"no route for {path}")
    except ValueError:
        get_logger("svc").exception("failed")
    output = stream.getvalue()
    for character in ("\x1b", "\x00", "\x7f", "\x85", "\u2028", "\u2029", "\r"):
        assert character not in output, repr(character)
    assert "\\x1b[2J" in output
    assert "\\u2028" in output
    lines = output.splitlines()
    assert sum("request" in line and "\\x1b" in line for line in lines) == 1


def test_access_lines_of_real_requests_are_escaped_in_the_console_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    from fastapi.testclient import TestClient
    from spaps_server_quickstart.app import create_app

    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    try:
        settings = BaseServiceSettings(
            log_format="console",
            auth_mode="disabled",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        )
        with TestClient(create_app(settings=settings)) as client:
            assert client.get("/x%1B%5B2Jy%00z%7F%C2%85w%E2%80%A8v").status_code == 404
        output = capsys.readouterr().out
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        structlog.reset_defaults()
    [access] = [line for line in output.splitlines() if "request" in line and "/x" in line]
    assert "\\x1b[2Jy\\x00z\\x7f\\x85w\\u2028v" in access
    for character in ("\x1b", "\x00", "\x7f", "\x85", "\u2028"):
        assert character not in output


def test_no_access_log_keeps_uvicorn_access_silent(configure: Configure) -> None:
    """Item 8: ``--no-access-log`` was undone by configure_logging re-enabling the logger."""
    import uvicorn

    uvicorn.Config("x:y", access_log=False).configure_logging()
    stream = configure()
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/silenced", "1.1", 200
    )
    logging.getLogger("uvicorn.error").info("still heard")
    assert [line["event"] for line in parsed(stream)] == ["still heard"]
    # With the access log on, uvicorn's own handler is replaced by ours: redacted JSON lines.
    uvicorn.Config("x:y", access_log=True).configure_logging()
    stream = configure()
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/heard?token=SECRET-a", "1.1", 200
    )
    [line] = parsed(stream)
    assert line["event"] == '127.0.0.1:5000 - "GET /heard HTTP/1.1" 200'
    assert line["logger"] == "uvicorn.access"


def test_celery_task_results_and_arguments_are_hidden(configure: Configure) -> None:
    """Item 4: Celery's "succeeded" line printed task results in full."""
    stream = configure(log_level="DEBUG")
    trace_logger = logging.getLogger("celery.app.trace")
    context = {
        "id": "t-1",
        "name": "orders.charge",
        "return_value": "{'token': 'SECRET-r1', 'url': 'https://h/x'}",
        "runtime": 0.01,
    }
    trace_logger.info(
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        context,
        extra={"data": context},
    )
    received = {"id": "t-2", "name": "orders.charge", "args": "('SECRET-a1',)", "kwargs": "{}"}
    logging.getLogger("celery.worker.strategy").info(
        "Task %(name)s[%(id)s] received", received, extra={"data": received}
    )
    logging.getLogger("celery.pool").debug(
        "TaskPool: Apply %s (args:%s kwargs:%s)", "<fn>", "('SECRET-a2',)", "{'k': 'SECRET-a3'}"
    )
    output = stream.getvalue()
    assert "SECRET-" not in output
    succeeded, received_line, pool = parsed(stream)
    assert succeeded["event"] == "Task orders.charge[t-1] succeeded in 0.01s: <hidden>"
    assert context["return_value"].startswith("{'token'")  # Celery's own dict is left alone
    assert received_line["data"]["args"] == "<hidden>"
    assert pool["event"] == "TaskPool: Apply <fn> (args:<hidden> kwargs:<hidden>)"


@pytest.mark.parametrize(
    "text",
    [
        "token" * 40000,
        "token=" * 30000,
        "'token'" * 30000,
        "a?" * 100000,
        "a://b:" * 30000,
        "bearer " * 30000,
        "-" * 200000 + "token",
        ("x" * 39 + "token") * 5000,
        "cookie:\n" * 30000,
        "\x1b" * 200000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_redaction_stays_linear_on_hostile_text(text: str) -> None:
    """Request paths and exception text are attacker-chosen: no pattern may backtrack on them."""
    import time

    from spaps_server_quickstart.redaction import clean_text, escape_control_characters

    started = time.perf_counter()
    escape_control_characters(clean_text(text))
    assert time.perf_counter() - started < 2.0
