"""Property tests for the profile field rules and the pagination cursor."""

from __future__ import annotations

import unicodedata
import uuid
import zoneinfo
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from babel.localedata import locale_identifiers
from hypothesis import given
from hypothesis import strategies as st

from nova_kit.errors import AppError
from nova_users.schemas import (
    ProfileUpdate,
    check_avatar_url,
    check_display_name,
    check_locale,
    check_timezone,
    parse_model,
)
from nova_users.services import decode_cursor, encode_cursor

LOCALES = sorted(locale_identifiers())
ZONES = sorted(zoneinfo.available_timezones())


@given(st.text(max_size=200))
def test_display_name_is_trimmed_bounded_and_printable_or_refused(value: str) -> None:
    try:
        name = check_display_name(value)
    except ValueError as error:
        refusal = str(error)
        assert refusal
        return
    assert name == value.strip()
    assert 1 <= len(name) <= 64
    assert all(unicodedata.category(char) not in ("Cc", "Cf") for char in name)


@given(st.sampled_from(LOCALES), st.booleans(), st.booleans())
def test_every_cldr_locale_is_accepted_in_any_spelling(
    name: str, hyphen: bool, upper: bool
) -> None:
    spelled = name.replace("_", "-") if hyphen else name
    spelled = spelled.upper() if upper else spelled.lower()
    canonical = check_locale(spelled)
    assert canonical == name.replace("_", "-")
    assert check_locale(canonical) == canonical


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_", min_size=1, max_size=12))
def test_unknown_locales_are_refused(value: str) -> None:
    known = {locale.replace("_", "-").lower() for locale in LOCALES}
    if value.replace("_", "-").lower() in known:
        assert check_locale(value) is not None
    else:
        with pytest.raises(ValueError, match="unknown locale"):
            check_locale(value)


@given(st.sampled_from(ZONES))
def test_every_iana_zone_is_accepted(zone: str) -> None:
    assert check_timezone(zone) == zone


@given(st.text(max_size=40))
def test_time_zones_outside_the_iana_list_are_refused(value: str) -> None:
    if value.strip() in ZONES:
        return
    with pytest.raises(ValueError, match="unknown time zone"):
        check_timezone(value)


@given(
    st.sampled_from(["http", "ftp", "javascript", "data", "file", "HTTP"]),
    st.from_regex(r"[a-z]{1,10}\.[a-z]{2,5}", fullmatch=True),
)
def test_avatar_urls_must_be_https(scheme: str, host: str) -> None:
    assert check_avatar_url(f"https://{host}/a.png") == f"https://{host}/a.png"
    with pytest.raises(ValueError, match="https"):
        check_avatar_url(f"{scheme}://{host}/a.png")


@given(st.dictionaries(st.text(max_size=12), st.none() | st.text(max_size=80) | st.integers()))
def test_profile_updates_are_valid_or_a_field_level_422(payload: dict[str, Any]) -> None:
    refused: AppError | None = None
    try:
        update = parse_model(ProfileUpdate, payload)
    except AppError as error:
        refused = error
    if refused is not None:
        assert (refused.status_code, refused.code) == (422, "validation_error")
        assert refused.details
        assert all(entry["field"] and entry["message"] for entry in refused.details)
        return
    assert set(update.changes()) <= set(payload)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.just(UTC) | st.just(zoneinfo.ZoneInfo("Asia/Kolkata")),
    ),
    st.uuids(),
)
def test_cursors_round_trip(created_at: datetime, user_id: uuid.UUID) -> None:
    profile: Any = SimpleNamespace(created_at=created_at, id=user_id)
    decoded_at, decoded_id = decode_cursor(encode_cursor(profile))
    assert decoded_at == created_at
    assert decoded_at.utcoffset() is not None
    assert decoded_id == user_id


@given(st.text(max_size=120))
def test_any_text_is_a_cursor_or_a_422(value: str) -> None:
    refused: AppError | None = None
    try:
        created_at, _ = decode_cursor(value)
    except AppError as error:
        refused = error
    if refused is not None:
        assert refused.status_code == 422
        assert refused.details == [
            {"field": "after", "message": "is not a cursor returned by this API"}
        ]
        return
    assert created_at.utcoffset() is not None
    assert abs(created_at - datetime.now(UTC)) < timedelta(days=10**6)
