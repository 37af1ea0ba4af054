"""What the users API accepts and returns, and the rules a profile's fields follow.

Inputs are pydantic models with ``extra="forbid"``: an unknown field is a 422, like any other
invalid value, with one ``{field, message}`` entry per problem. The same models validate the
GraphQL inputs, so both APIs apply one set of rules.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
import zoneinfo
from datetime import datetime
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from babel.localedata import locale_identifiers
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from nova_kit.errors import AppError

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


DisplayName = Annotated[str, AfterValidator(check_display_name)]
Bio = Annotated[str | None, AfterValidator(check_bio)]
AvatarUrl = Annotated[str | None, AfterValidator(check_avatar_url)]
Locale = Annotated[str | None, AfterValidator(check_locale)]
Timezone = Annotated[str | None, AfterValidator(check_timezone)]


class ProfileUpdate(BaseModel):
    """``PATCH /api/users/me``: only the fields sent change; ``null`` clears an optional one."""

    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: DisplayName | None = None
    bio: Bio = None
    avatar_url: AvatarUrl = None
    locale: Locale = None
    timezone: Timezone = None

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, validated; a ``null`` display name is refused."""
        values = self.model_dump(exclude_unset=True)
        if "display_name" in values and values["display_name"] is None:
            raise validation_error([("display_name", "must not be null")])
        return values


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


class ProfileSeed(BaseModel):
    """``PUT /internal/profiles/{id}``: what the profile starts with if it does not exist.

    The values come from the registration (through the worker), so a name that is too long or
    a locale we do not know must not leave the user without a profile: they are adjusted, and
    the user can change them. Unknown fields and wrong types are still a 422.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: Annotated[str, AfterValidator(seed_display_name)] = DEFAULT_DISPLAY_NAME
    locale: Annotated[str | None, AfterValidator(seed_locale)] = None


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


def from_pydantic(error: ValidationError) -> AppError:
    problems: list[tuple[str, str]] = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "body"
        problems.append((field, str(item["msg"]).removeprefix("Value error, ")))
    return validation_error(problems)


def parse_model[M: BaseModel](model: type[M], data: Any) -> M:
    """Validate ``data`` with ``model`` or raise the 422 ``validation_error``."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise from_pydantic(error) from None
