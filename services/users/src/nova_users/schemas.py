"""What the users API accepts and returns, and the rules a profile's fields follow.

Bodies are msgspec structs both ways (ADR 0013). Inputs forbid unknown fields: an unknown field
is a 422, like any other invalid value, with one ``{field, message}`` entry per problem. The same
structs validate the GraphQL inputs, so both APIs apply one set of rules.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
import zoneinfo
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import msgspec
from babel.localedata import locale_identifiers

from nova_kit.errors import AppError, decode_error_details

logger = logging.getLogger(__name__)

DISPLAY_NAME_MAX = 64
BIO_MAX = 500
AVATAR_URL_MAX = 2048
DEFAULT_DISPLAY_NAME = "New user"
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100


@cache
def _locales_by_folded_tag() -> dict[str, str]:
    """Every CLDR locale babel knows, keyed by its lower-cased BCP 47 tag (``en-us``)."""
    return {name.replace("_", "-").lower(): name.replace("_", "-") for name in locale_identifiers()}


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_display_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise ValueError("must not be empty")
    if len(name) > DISPLAY_NAME_MAX:
        raise ValueError(f"must be at most {DISPLAY_NAME_MAX} characters")
    if any(unicodedata.category(char) in ("Cc", "Cf") for char in name):
        raise ValueError("must not contain control characters")
    return name


def check_bio(value: str | None) -> str | None:
    if value is None:
        return None
    bio = value.strip()
    if len(bio) > BIO_MAX:
        raise ValueError(f"must be at most {BIO_MAX} characters")
    if any(unicodedata.category(char) == "Cc" and char not in "\t\n\r" for char in bio):
        raise ValueError("must not contain control characters other than tabs and line breaks")
    return bio or None


def check_avatar_url(value: str | None) -> str | None:
    if value is None:
        return None
    url = value.strip()
    if not url:
        return None
    if len(url) > AVATAR_URL_MAX:
        raise ValueError(f"must be at most {AVATAR_URL_MAX} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme.lower() != "https":
        raise ValueError("must be an https:// URL")
    if not host or any(char.isspace() or unicodedata.category(char) == "Cc" for char in url):
        raise ValueError("is not a valid URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials")
    return url


def check_locale(value: str | None) -> str | None:
    """A CLDR locale as a BCP 47 tag (``en-US``, ``zh-Hant-TW``); ``en_us`` is accepted too."""
    if value is None:
        return None
    tag = value.strip().replace("_", "-").lower()
    canonical = _locales_by_folded_tag().get(tag)
    if canonical is None:
        raise ValueError(f"unknown locale {value!r}; use a BCP 47 tag such as 'en-US'")
    return canonical


def check_timezone(value: str | None) -> str | None:
    """An IANA time zone name (``Europe/Paris``)."""
    if value is None:
        return None
    zone = value.strip()
    if zone not in _timezones():
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Europe/Paris'")
    return zone


_UPDATE_RULES: dict[str, Callable[[Any], Any]] = {
    "display_name": check_display_name,
    "bio": check_bio,
    "avatar_url": check_avatar_url,
    "locale": check_locale,
    "timezone": check_timezone,
}


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /api/users/me``: only the fields sent change; ``null`` clears an optional one.

    The fields' rules run when the body is decoded: every broken rule is one entry of the 422.
    """

    display_name: str | msgspec.UnsetType | None = msgspec.UNSET
    bio: str | msgspec.UnsetType | None = msgspec.UNSET
    avatar_url: str | msgspec.UnsetType | None = msgspec.UNSET
    locale: str | msgspec.UnsetType | None = msgspec.UNSET
    timezone: str | msgspec.UnsetType | None = msgspec.UNSET

    def __post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        for name, rule in _UPDATE_RULES.items():
            value = getattr(self, name)
            if value is msgspec.UNSET:
                continue
            if value is None and name == "display_name":
                problems.append((name, "must not be null"))
                continue
            try:
                setattr(self, name, rule(value))
            except ValueError as error:
                problems.append((name, str(error)))
        if problems:
            # Not a ValueError: msgspec would keep only its text; this keeps every field.
            raise validation_error(problems)

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, validated."""
        return {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if getattr(self, name) is not msgspec.UNSET
        }


def seed_display_name(value: str) -> str:
    """A name another service proposes, made acceptable rather than refused: control
    characters dropped, cut to 64 characters, the neutral default if nothing is left."""
    printable = "".join(
        " " if unicodedata.category(char) in ("Cc", "Cf") else char for char in value
    )
    name = " ".join(printable.split())[:DISPLAY_NAME_MAX].strip()
    return name or DEFAULT_DISPLAY_NAME


def seed_locale(value: str | None) -> str | None:
    """A locale another service proposes; one we do not know is left unset."""
    try:
        return check_locale(value)
    except ValueError:
        logger.warning("ignoring unknown locale in a profile seed", extra={"locale": value})
        return None


class ProfileSeed(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``PUT /internal/profiles/{id}``: what the profile starts with if it does not exist.

    The values come from the registration (through the worker), so a name that is too long or
    a locale we do not know must not leave the user without a profile: they are adjusted, and
    the user can change them. Unknown fields and wrong types are still a 422.
    """

    display_name: str = DEFAULT_DISPLAY_NAME
    locale: str | None = None

    def __post_init__(self) -> None:
        self.display_name = seed_display_name(self.display_name)
        self.locale = seed_locale(self.locale)


class ProfileRead(msgspec.Struct, kw_only=True):
    """A profile as the caller may see it: ``locale``/``timezone`` only for its owner and
    admins, ``deleted_at`` only for admins (``null`` otherwise)."""

    id: uuid.UUID
    display_name: str
    bio: str | None
    avatar_url: str | None
    locale: str | None
    timezone: str | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class PageInfo(msgspec.Struct, kw_only=True):
    has_next_page: bool
    end_cursor: str | None


class ProfileEdge(msgspec.Struct, kw_only=True):
    cursor: str
    node: ProfileRead


class ProfilePage(msgspec.Struct, kw_only=True):
    """``GET /api/users``: one page, newest first, and where the next one starts."""

    edges: list[ProfileEdge]
    page_info: PageInfo


def validation_error(problems: list[tuple[str, str]], message: str | None = None) -> AppError:
    """A 422 ``validation_error`` with one ``{field, message}`` entry per problem."""
    details = [{"field": field, "message": text} for field, text in problems]
    summary = message or "; ".join(f"{field}: {text}" for field, text in problems)
    return AppError(summary, code="validation_error", status_code=422, details=details)


def parse_model[M: msgspec.Struct](model: type[M], data: Any) -> M:
    """Decode ``data`` into ``model`` (the GraphQL inputs) or raise the 422 ``validation_error``
    the REST API answers for the same body."""
    try:
        return msgspec.convert(data, model)
    except msgspec.ValidationError as error:
        entry = decode_error_details(error)
        raise validation_error([(entry["field"], entry["message"])]) from None
