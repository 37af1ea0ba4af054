"""Opaque keyset cursors: ``base64url("<ISO-8601 moment>|<uuid>")`` of the last row seen.

Pages are read newest first by keyset on ``(moment, id)``; a cursor that this API did not make
is refused as 422 ``validation_error`` on the field ``after``."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

from nova_kit.errors import AppError


def encode_keyset(moment: datetime, ident: uuid.UUID) -> str:
    raw = f"{moment.isoformat()}|{ident}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_keyset(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, _, ident = base64.urlsafe_b64decode(padded.encode()).decode().partition("|")
        when = datetime.fromisoformat(moment)
        return (when if when.tzinfo else when.replace(tzinfo=UTC)), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError):
        raise AppError(
            "after is not a cursor returned by this API",
            code="validation_error",
            status_code=422,
            details=[{"field": "after", "message": "is not a cursor returned by this API"}],
        ) from None
