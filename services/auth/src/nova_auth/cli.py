"""The ``nova-auth`` command.

nova-auth serve | migrate | check-config
nova-auth export-sdl                      print the GraphQL subgraph SDL (no server, no DB)
nova-auth rotate-keys [--algorithm ...]   print a new signing key and the rotation procedure
nova-auth create-admin --email E [--password P]
nova-auth seed-dev-admin                  idempotent development administrator (dev only)
nova-auth reset-dev-admin-password        a new password for it, every session ended (dev only)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from nova_auth.app import build_key_ring, create_app
from nova_auth.config import AuthSettings
from nova_auth.keys import generate_signing_key, parse_signing_keys
from nova_auth.models import AccountModel, Role
from nova_auth.services.admin import AccountAdminService
from nova_auth.services.credentials import CredentialService
from nova_auth.state import AuthState, build_auth_state
from nova_kit import db
from nova_kit.app import Runtime
from nova_kit.cli import ServiceCLI, run
from nova_kit.errors import AppError
from nova_kit.redis import create_redis

MIGRATIONS = Path(__file__).parent / "migrations"

cli = ServiceCLI("auth", AuthSettings, create_app, migrations_dir=MIGRATIONS)

ROTATION_PROCEDURE = """\
Key rotation, without downtime:
  1. Put the new entry FIRST in NOVA_AUTH_SIGNING_KEYS (the value above already does, keeping
     the current keys after it) and roll out nova-auth. New tokens are signed with the new key;
     the JWKS keeps publishing the old public keys, so tokens they signed still verify.
  2. Wait until every token signed by the old key has expired: NOVA_AUTH_ACCESS_TOKEN_TTL_SECONDS
     (at most 15 minutes) plus a little clock leeway after the roll-out.
  3. Remove the old entries from NOVA_AUTH_SIGNING_KEYS and roll out again.
Verifiers re-fetch the JWKS on their own when they meet an unknown kid."""


def export_sdl(_: argparse.Namespace, __: None) -> int:
    from nova_auth.graphql import export_sdl as sdl

    sys.stdout.write(sdl().rstrip("\n") + "\n")
    return 0


def _rotate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--algorithm", choices=["EdDSA", "ES256"], default="EdDSA")
    parser.add_argument("--kid", default=None, help="key id (default: date + random suffix)")


def rotate_keys(args: argparse.Namespace, _: None) -> int:
    key = generate_signing_key(args.algorithm, args.kid)
    current = os.environ.get("NOVA_AUTH_SIGNING_KEYS", "").strip()
    entries: list[dict[str, str]] = [key.entry()]
    if current:
        try:
            entries.extend(old.entry() for old in parse_signing_keys(current))
        except ValueError as error:
            print(
                f"nova-auth: the current NOVA_AUTH_SIGNING_KEYS is invalid: {error}",
                file=sys.stderr,
            )
            return 2
    print(f"New signing key {key.kid!r} ({args.algorithm}). New value of NOVA_AUTH_SIGNING_KEYS:")
    print(json.dumps(entries))
    print()
    print(ROTATION_PROCEDURE, file=sys.stderr)
    return 0


def _create_admin_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", default=None, help="default: a generated one, printed once")


async def _with_state[T](settings: AuthSettings, work: Callable[[AuthState], Awaitable[T]]) -> T:
    """Run ``work`` with the service's state on a throw-away engine (CLI commands)."""
    if settings.redis_url is None:
        raise SystemExit(f"nova-auth: {settings.env_name('redis_url')} is not set")
    engine = db.create_engine(db.DatabaseConfig.from_settings(settings), pooled=False)
    redis = create_redis(settings.redis_url.get_secret_value())
    runtime = Runtime(
        settings=settings,
        http=httpx.AsyncClient(),
        engine=engine,
        sessions=db.create_session_factory(engine),
        redis=redis,
    )
    state = build_auth_state(settings, runtime, build_key_ring(settings))
    try:
        return await work(state)
    finally:
        state.close()
        await runtime.http.aclose()
        await redis.aclose()
        await engine.dispose()


def create_admin(args: argparse.Namespace, settings: AuthSettings) -> int:
    password = args.password or secrets.token_urlsafe(18)

    async def work(state: AuthState) -> AccountModel:
        return await AccountAdminService(state).create_account(
            args.email, password, roles=[Role.ADMIN]
        )

    try:
        account = asyncio.run(_with_state(settings, work))
    except AppError as error:
        print(f"nova-auth: {error.message} ({error.code})", file=sys.stderr)
        return 1
    print(f"created administrator {account.email} (id {account.id})")
    if args.password is None:
        print(f"password: {password}")
    return 0


def _credentials_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--credentials-file",
        type=Path,
        help="also write the e-mail and password there (mode 600), for the dev banner",
    )


def _keep_credentials(path: Path | None, email: str, password: str) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump({"email": email, "password": password}, file)


def _dev_only(settings: AuthSettings, command: str) -> bool:
    if settings.is_dev:
        return True
    print(f"nova-auth: {command} only runs with NOVA_ENVIRONMENT=dev or test", file=sys.stderr)
    return False


def seed_dev_admin(args: argparse.Namespace, settings: AuthSettings) -> int:
    """Create the development administrator once; print its credentials only when created."""
    if not _dev_only(settings, "seed-dev-admin"):
        return 2
    password = secrets.token_urlsafe(12)

    async def work(state: AuthState) -> AccountModel | None:
        service = AccountAdminService(state)
        if await service.find_by_email(settings.dev_admin_email) is not None:
            return None
        try:
            return await service.create_account(
                settings.dev_admin_email, password, roles=[Role.ADMIN], display_name="Admin"
            )
        except AppError as error:
            if error.code == "email_taken":  # created by a concurrent run
                return None
            raise

    account = asyncio.run(_with_state(settings, work))
    if account is None:
        print(f"development administrator {settings.dev_admin_email} already exists")
        return 0
    _keep_credentials(args.credentials_file, account.email, password)
    print(f"created development administrator: {account.email} / {password}")
    return 0


def reset_dev_admin_password(args: argparse.Namespace, settings: AuthSettings) -> int:
    """Give the development administrator a new random password (created if missing)."""
    if not _dev_only(settings, "reset-dev-admin-password"):
        return 2
    password = secrets.token_urlsafe(12)

    async def work(state: AuthState) -> AccountModel:
        service = AccountAdminService(state)
        account = await service.find_by_email(settings.dev_admin_email)
        if account is None:
            return await service.create_account(
                settings.dev_admin_email, password, roles=[Role.ADMIN], display_name="Admin"
            )
        return await CredentialService(state).reset_password(account.id, password)

    account = asyncio.run(_with_state(settings, work))
    _keep_credentials(args.credentials_file, account.email, password)
    print(f"development administrator: {account.email} / {password} (every session ended)")
    return 0


cli.command("export-sdl", export_sdl, help="print the GraphQL subgraph SDL", needs_settings=False)
cli.command(
    "rotate-keys",
    rotate_keys,
    help="print a new signing key and the rotation procedure",
    configure=_rotate_args,
    needs_settings=False,
)
cli.command(
    "create-admin",
    create_admin,
    help="create an administrator account",
    configure=_create_admin_args,
)
cli.command(
    "seed-dev-admin",
    seed_dev_admin,
    help="create the development administrator if missing (dev/test only)",
    configure=_credentials_args,
)
cli.command(
    "reset-dev-admin-password",
    reset_dev_admin_password,
    help="give the development administrator a new password (dev/test only)",
    configure=_credentials_args,
)


def main() -> None:
    run(cli)
