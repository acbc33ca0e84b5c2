"""``SettingsError``: settings problems as one line of names and reasons, never values.

pydantic's ``ValidationError`` text carries ``input_value=`` for every error, and for a
model-level check (the production guard) the input is every setting: the SPAPS API key and the
local signing secret were printed at start-up by the API and the worker alike. Settings errors
are therefore converted (:func:`settings_error_from`) reading only each error's location,
message and kind.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings
from pydantic_settings import SettingsError as PydanticSettingsError


class SettingsError(ValueError):
    """Settings that cannot be loaded, or cannot run in the chosen environment.

    The message names each setting (as its environment variable) and says what is wrong,
    never the value: a settings error is printed at start-up, in logs and CI output, and the
    value may be a password or an API key. :meth:`errors` gives the same as data, in the
    shape of pydantic's ``ValidationError.errors()`` minus the input.
    """

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self._problems = (
            problems
            if problems is not None
            else [{"loc": (), "msg": message, "type": "value_error"}]
        )

    def errors(self) -> list[dict[str, Any]]:
        """``[{"loc": (field,), "msg": reason, "type": kind}, ...]``, with no input values."""
        return [dict(problem) for problem in self._problems]


def _reason(message: str) -> str:
    # pydantic prefixes what a validator raised with the error kind ("Value error, ...").
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def _setting_name(cls: type[BaseSettings], env_prefix: str, field: str) -> str:
    info = cls.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if isinstance(alias, str):
        return alias.upper()
    return f"{env_prefix}{field}".upper()


def settings_error_from(
    error: ValidationError | PydanticSettingsError, cls: type[BaseSettings], env_prefix: str
) -> SettingsError:
    """One :class:`SettingsError` for every problem pydantic found: names and reasons only.

    ``str(ValidationError)`` shows ``input_value=`` for each error, and for a model-level
    check (the production guard) the input is *every* setting, API key and signing secret
    included. Only the location, the message and the kind are read here.

    pydantic-settings' own parse errors (``error parsing value for field "x" from source
    ...``) name the field, not the value; their cause may quote it, so only the name is kept.
    """
    if isinstance(error, PydanticSettingsError):
        named = re.search(r'field "(\w+)"', str(error))
        name = _setting_name(cls, env_prefix, named[1]) if named else "a setting"
        return SettingsError(
            f"{name}: could not be parsed (lists and mappings are written as JSON,"
            ' e.g. ["/a", "/b"])',
            [{"loc": (named[1],) if named else (), "msg": "could not be parsed", "type": "parse"}],
        )
    problems: list[dict[str, Any]] = []
    parts: list[str] = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        location = item.get("loc") or ()
        reason = _reason(str(item.get("msg", "invalid")))
        field = str(location[0]) if location else ""
        problems.append({"loc": tuple(location[:1]), "msg": reason, "type": item.get("type")})
        if field and field in cls.model_fields:
            parts.append(f"{_setting_name(cls, env_prefix, field)}: {reason}")
        elif field:
            parts.append(f"{field.upper()}: {reason}")
        else:
            parts.append(reason)
    message = "; ".join(parts) or "invalid settings"
    return SettingsError(" ".join(message.split()), problems)
