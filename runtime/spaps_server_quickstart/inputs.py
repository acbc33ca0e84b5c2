"""What a route accepts: bounded integers and storable text, refused with 422 at the edge.

Each bound is a value a database or its driver cannot take, found by sending it
(docs/SECURITY.md, "Hostile input never crashes"):

* an ``offset`` of 2**63 overflows SQLite's int64 (``OverflowError`` in the driver, a 500);
  PostgreSQL's ``OFFSET`` is a ``bigint`` too. Pages past :data:`MAX_OFFSET` rows are refused;
* an id of 2**31 does not fit PostgreSQL's ``integer`` (what ``Integer`` primary keys are), and
  one past 2**63 fits nothing: :data:`IntId` is bounded to the column type, :data:`BigIntId`
  to ``BigInteger``; ids below 1 are never issued, so they are refused too;
* PostgreSQL text cannot hold NUL (``\\u0000``), and no database encoding can hold a lone
  surrogate (``"\\ud800"`` in JSON decodes to one): :func:`check_text` refuses both, for every
  string of a :class:`RequestBody` and for :data:`Text` path and query parameters;
* an integer in a body wider than 64 bits fits no column: :class:`RequestBody` refuses it in
  any field.

A route that declares ``limit: Limit = 50, offset: Offset = 0`` or ``item_id: IntId`` gets these
bounds in its OpenAPI schema as well. The 422 that refuses a lone surrogate must itself be
writable, which FastAPI's default handler is not (it echoes the input and encodes the answer as
UTF-8): :func:`install_validation_error_handler` answers the same body, ASCII-escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator
from starlette.responses import JSONResponse, Response

#: PostgreSQL ``integer`` (SQLAlchemy ``Integer``): the largest id such a column holds.
INT32_MAX = 2**31 - 1
#: PostgreSQL ``bigint`` and SQLite ``INTEGER``: the widest integer any column holds.
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
#: The deepest page a list route serves; two billion rows is past any page a client reads.
MAX_OFFSET = INT32_MAX
#: The largest page a list route serves by default.
MAX_LIMIT = 100

NUL = "\x00"


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or ``None`` when it can."""
    if NUL in value:
        return "must not contain NUL characters (\\u0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text: lone surrogates (\\ud800-\\udfff) are not allowed"
    return None


def check_text(value: str) -> str:
    """``value`` unchanged, or ``ValueError`` (a 422) when no database can store it."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


#: A string parameter or field that is refused (422) when it holds NUL or a lone surrogate.
Text = Annotated[str, AfterValidator(check_text)]

#: Page size of a list route: ``limit: Limit = 50``.
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
#: Rows to skip: ``offset: Offset = 0``.
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
#: A path id of an ``Integer`` primary key: ``item_id: IntId``.
IntId = Annotated[int, Path(ge=1, le=INT32_MAX)]
#: A path id of a ``BigInteger`` primary key.
BigIntId = Annotated[int, Path(ge=1, le=INT64_MAX)]


def integer_problem(value: int) -> str | None:
    """Why ``value`` fits no integer column, or ``None`` when the widest one holds it."""
    if INT64_MIN <= value <= INT64_MAX:
        return None
    return "must fit a 64-bit integer (-2**63 to 2**63-1), the widest integer column"


def _leaves(value: Any) -> Iterator[Any]:
    """Every value inside ``value`` that is not a container, dict keys included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(key)
            yield from _leaves(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


class RequestBody(BaseModel):
    """Base class of request bodies: unknown fields refused, every string and integer storable.

    The checks cover fields added later without anyone remembering them. Strings are checked
    on each field's raw input, before the field's own validation, at any depth (a list of
    tags, a dict of labels); integers once the field has its type (an ``int`` field given
    ``1e30`` is refused by the field itself, a ``float`` field keeps it), so no integer wider
    than the widest column reaches the database. The 422 names the field. An ``Integer``
    (int32) column still needs its own ``Field(le=INT32_MAX)``.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _storable_strings(cls, value: Any) -> Any:
        for leaf in _leaves(value):
            problem = text_problem(leaf) if isinstance(leaf, str) else None
            if problem is not None:
                raise ValueError(problem)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _storable_integers(cls, value: Any) -> Any:
        for leaf in _leaves(value):
            if isinstance(leaf, int) and not isinstance(leaf, bool):
                problem = integer_problem(leaf)
                if problem is not None:
                    raise ValueError(problem)
        return value


class _EscapedJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped, so a lone surrogate in it stays writable."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=True, allow_nan=False, separators=(",", ":")
        ).encode("ascii")


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    return _EscapedJSONResponse(
        status_code=422, content={"detail": jsonable_encoder(error.errors())}
    )


def install_validation_error_handler(app: FastAPI) -> None:
    """Answer request validation errors with FastAPI's body, ASCII-escaped (see module doc)."""
    app.add_exception_handler(RequestValidationError, _validation_error)
