"""Counting credential operations by outcome, and checking their input before any work."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Awaitable, Callable

from prometheus_client import Counter

from nova_kit.errors import AppError

OPERATIONS = Counter(
    "nova_auth_operations_total",
    "Credential operations by outcome (ok, or the error code answered)",
    ["operation", "outcome"],
)


def counted[**P, R](
    operation: str,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Count each call of an async service method by outcome in ``nova_auth_operations_total``."""

    def decorate(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(method)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = await method(*args, **kwargs)
            except AppError as error:
                OPERATIONS.labels(operation, error.code).inc()
                raise
            OPERATIONS.labels(operation, "ok").inc()
            return result

        return wrapper

    return decorate


# No control characters: PostgreSQL text cannot hold NUL, and no mail system accepts the rest.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
MAX_EMAIL_LENGTH = 320
# No acceptable password is longer (128 characters after NFKC); longer input is refused
# before it reaches the hasher, whichever API it came through.
MAX_PASSWORD_INPUT = 1024


def check_input_size(*passwords: str) -> None:
    if any(len(password) > MAX_PASSWORD_INPUT for password in passwords):
        raise AppError(
            f"passwords are at most {MAX_PASSWORD_INPUT} characters",
            code="validation_error",
            status_code=422,
        )


def check_display_name(display_name: str | None) -> None:
    """422 for a display name with control characters (the users service refuses them too, and
    PostgreSQL cannot store NUL in the account event)."""
    if display_name is not None and any(unicodedata.category(c) == "Cc" for c in display_name):
        raise AppError(
            "display_name must not contain control characters",
            code="validation_error",
            status_code=422,
            details=[{"field": "display_name", "message": "must not contain control characters"}],
        )


def normalise_email(email: str) -> str:
    """The stored form of an e-mail address, or 422 ``invalid_email``."""
    candidate = email.strip().lower()
    if len(candidate) > MAX_EMAIL_LENGTH or not _EMAIL.match(candidate):
        raise AppError("not a valid e-mail address", code="invalid_email", status_code=422)
    return candidate
