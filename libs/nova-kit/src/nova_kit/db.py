"""Async SQLAlchemy engine and sessions bound to the service's own PostgreSQL schema."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy.exc
from sqlalchemy import MetaData, Select, text
from sqlalchemy.engine import URL, CursorResult, Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry, NullPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.util import greenlet_spawn

from nova_kit.settings import ServiceSettings

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """Metadata whose tables live in ``schema``, with stable constraint names for Alembic."""
    return MetaData(schema=validate_schema_name(schema), naming_convention=NAMING_CONVENTION)


def declarative_base(schema: str) -> type[DeclarativeBase]:
    """A declarative base for a service's models, bound to its own schema."""

    class Base(DeclarativeBase):
        metadata = service_metadata(schema)

    return Base


def validate_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid PostgreSQL schema name: {schema!r}")
    return schema


def async_url(url: str | URL) -> URL:
    """Normalise a PostgreSQL URL to the asyncpg driver (``postgres://`` and ``postgresql://``)."""
    parsed = make_url(str(url).replace("postgres://", "postgresql://", 1))
    if parsed.drivername in ("postgresql", "postgresql+psycopg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(f"unsupported database driver {parsed.drivername!r}; use PostgreSQL")
    return parsed


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: URL
    schema: str
    pool_size: int = 10
    max_overflow: int = 5
    pool_timeout: float = 5.0
    statement_timeout_ms: int = 10_000
    application_name: str = "nova"
    pool_name: str = "default"

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> DatabaseConfig:
        if settings.database_url is None:
            raise ValueError(f"{settings.env_name('database_url')} is not set")
        return cls(
            url=async_url(settings.database_url.get_secret_value()),
            schema=validate_schema_name(settings.database_schema or settings.service_name),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            statement_timeout_ms=settings.db_statement_timeout_ms,
            application_name=f"nova-{settings.service_name}",
            pool_name=settings.service_name,
        )

    def connect_args(self) -> dict[str, Any]:
        return {
            "server_settings": {
                "search_path": f"{self.schema},public",
                "statement_timeout": str(self.statement_timeout_ms),
                "application_name": self.application_name,
            },
            "timeout": min(self.pool_timeout, 10.0),
        }


class TimedQueuePool(AsyncAdaptedQueuePool):
    """The async queue pool, timing every checkout and counting the ones that time out.

    The pool's ``logging_name`` (the service name) labels the metrics; it survives
    ``engine.dispose()``, which builds a new pool of the same class.
    """

    def _do_get(self) -> ConnectionPoolEntry:
        from nova_kit.metrics import DB_CONNECTION_TIMEOUTS, DB_CONNECTION_WAIT

        name = str(self.logging_name or "default")
        started = time.perf_counter()
        try:
            return super()._do_get()
        except sqlalchemy.exc.TimeoutError:
            DB_CONNECTION_TIMEOUTS.labels(name).inc()
            raise
        finally:
            DB_CONNECTION_WAIT.labels(name).observe(time.perf_counter() - started)
            self._record()

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        super()._do_return_conn(record)
        self._record()

    def _record(self) -> None:
        from nova_kit.metrics import MULTIPROCESS, record_pool

        if MULTIPROCESS:
            record_pool(
                str(self.logging_name or "default"),
                self.checkedout(),
                self.checkedin(),
                self.size(),
            )


def create_engine(config: DatabaseConfig, *, pooled: bool = True) -> AsyncEngine:
    """An asyncpg engine whose connections use the service's schema as search path.

    ``pooled=False`` gives a ``NullPool`` engine: for code that runs under more than one event
    loop (CLI commands, Celery tasks driven by ``asyncio.run``).

    Pooled connections are not pinged on checkout (``pool_pre_ping`` costs a ``BEGIN``/``;``/
    ``ROLLBACK`` exchange before every transaction: half of a primary-key read's round trips).
    A connection PostgreSQL dropped fails its next statement instead; SQLAlchemy recognises the
    disconnect, discards that connection and every one opened before it (the whole pool, after
    a server restart), and the request answers 503 ``database_unavailable`` (:mod:`nova_kit.errors`)
    — the next one gets a fresh connection. ``pool_recycle`` replaces connections before idle
    timeouts on the way (proxies, load balancers) cut them.
    """
    if not pooled:
        return create_async_engine(
            config.url, poolclass=NullPool, connect_args=config.connect_args()
        )
    return create_async_engine(
        config.url,
        poolclass=TimedQueuePool,
        pool_logging_name=config.pool_name,
        pool_size=config.pool_size,
        max_overflow=config.max_overflow,
        pool_timeout=config.pool_timeout,
        pool_recycle=1800,
        connect_args=config.connect_args(),
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on success, rolled back on error."""
    async with sessions() as session, session.begin():
        yield session


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def pool_status(engine: AsyncEngine) -> dict[str, int]:
    """Checked-out and idle connections of a pooled engine (zeros for ``NullPool``)."""
    pool = engine.sync_engine.pool
    checked_out = getattr(pool, "checkedout", None)
    idle = getattr(pool, "checkedin", None)
    size = getattr(pool, "size", None)
    return {
        "checked_out": int(checked_out()) if callable(checked_out) else 0,
        "idle": int(idle()) if callable(idle) else 0,
        "size": int(size()) if callable(size) else 0,
    }


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """A pooled connection's asyncpg ``Connection`` itself, for a hot single-statement read:
    no ``BEGIN``/``ROLLBACK`` around it (one statement is its own transaction), no ORM, no
    SQLAlchemy execution. A primary-key read costs ~70 µs of CPU this way against ~430 µs in an
    ORM session (one process, PostgreSQL on loopback). A connection that failed other than
    with a statement error (lost, cancelled mid-statement) is discarded, not pooled again;
    asyncpg's connection errors answer 503 ``database_unavailable`` as SQLAlchemy's do
    (:func:`nova_kit.errors.dependency_failure`)."""
    import asyncpg

    fairy = await greenlet_spawn(engine.sync_engine.pool.connect)
    driver: Any = fairy.driver_connection
    try:
        yield driver
    except BaseException as error:
        if not isinstance(error, asyncpg.PostgresError) or driver.is_closed():
            await greenlet_spawn(fairy.invalidate, error)
        raise
    finally:
        await greenlet_spawn(fairy.close)


def _first_row(result: CursorResult[Any]) -> dict[str, Any] | None:
    """The first row of a result as a dict, ``None`` when there is none (or no rows at all: a
    write without ``RETURNING``), as the driver's ``fetchrow`` answers."""
    found = result.mappings().first() if result.returns_rows else None
    return dict(found) if found is not None else None


class OneRowStatement:
    """A Core statement answering at most one row — a ``SELECT``, or an ``INSERT``/``UPDATE``/
    ``DELETE … RETURNING`` — with named bind parameters, compiled once and run on the driver
    connection (:func:`driver_connection`); the row comes back as a dict of column names.

    :meth:`one_or_none` runs it alone: one statement is its own transaction, so a write commits
    when it returns. :func:`driver_transaction` runs several in one transaction. Values go to
    asyncpg as they are (no SQLAlchemy type processing on the way in or out): UUIDs, datetimes,
    strings, numbers and arrays of them. While SQL statements get spans (an exporter is
    configured, ``nova_kit.tracing``), it runs through SQLAlchemy so that the trace shows it."""

    def __init__(self, statement: Select[Any] | UpdateBase) -> None:
        self.statement = statement
        self._compiled: dict[str, SQLCompiler] = {}

    def compiled(self, dialect: Dialect) -> SQLCompiler:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self.statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            self._compiled[dialect.name] = compiled
        return compiled

    def arguments(self, dialect: Dialect, params: dict[str, Any]) -> tuple[str, list[Any]]:
        """The SQL text for ``dialect`` and its positional arguments from ``params``."""
        compiled = self.compiled(dialect)
        return compiled.string, [params[name] for name in compiled.positiontup or ()]

    async def one_or_none(self, engine: AsyncEngine, **params: Any) -> dict[str, Any] | None:
        from nova_kit.tracing import sql_traced

        if sql_traced(engine):
            async with engine.begin() as connection:
                return _first_row(await connection.execute(self.statement, params))
        sql, args = self.arguments(engine.dialect, params)
        async with driver_connection(engine) as driver:
            record = await driver.fetchrow(sql, *args)
        return dict(record) if record is not None else None


class OneRowRead(OneRowStatement):
    """A Core ``SELECT`` of at most one row (:meth:`one_or_none`), or of a bounded few
    (:meth:`all`), run as :class:`OneRowStatement` runs any statement: the hot reads (no
    transaction around one statement, no ORM identity map)."""

    def __init__(self, statement: Select[Any]) -> None:
        super().__init__(statement)

    async def all(self, engine: AsyncEngine, **params: Any) -> list[dict[str, Any]]:
        """Every row of the statement, the same way (for a bounded read: a batch of keys
        bound as one array, ``column = ANY(:keys)``)."""
        from nova_kit.tracing import sql_traced

        if sql_traced(engine):
            async with engine.connect() as connection:
                found = (await connection.execute(self.statement, params)).mappings().all()
            return [dict(row) for row in found]
        sql, args = self.arguments(engine.dialect, params)
        async with driver_connection(engine) as driver:
            records = await driver.fetch(sql, *args)
        return [dict(record) for record in records]


class StatementTransaction:
    """Statements of one transaction on the driver connection (:func:`driver_transaction`)."""

    def __init__(self, driver: Any, dialect: Dialect) -> None:
        self._driver = driver
        self._dialect = dialect

    async def one_or_none(self, statement: OneRowStatement, **params: Any) -> dict[str, Any] | None:
        sql, args = statement.arguments(self._dialect, params)
        record = await self._driver.fetchrow(sql, *args)
        return dict(record) if record is not None else None

    async def execute(self, statement: OneRowStatement, **params: Any) -> None:
        sql, args = statement.arguments(self._dialect, params)
        await self._driver.execute(sql, *args)


class _TracedStatementTransaction(StatementTransaction):
    """The same statements through SQLAlchemy's connection, so that traces show them."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def one_or_none(self, statement: OneRowStatement, **params: Any) -> dict[str, Any] | None:
        return _first_row(await self._connection.execute(statement.statement, params))

    async def execute(self, statement: OneRowStatement, **params: Any) -> None:
        await self._connection.execute(statement.statement, params)


@asynccontextmanager
async def driver_transaction(engine: AsyncEngine) -> AsyncIterator[StatementTransaction]:
    """One transaction of explicit statements (:class:`OneRowStatement`) on the pooled
    connection's asyncpg driver: ``BEGIN``, the statements, ``COMMIT`` — or ``ROLLBACK`` when
    the block raises. For a hot write whose unit of work is a few known statements (a row
    locked, checked, changed): no ORM session, flush, identity map or statement building per
    request. A connection that fails is discarded as :func:`driver_connection` does. While SQL
    statements get spans, the same statements run in a SQLAlchemy transaction instead."""
    from nova_kit.tracing import sql_traced

    if sql_traced(engine):
        async with engine.begin() as connection:
            yield _TracedStatementTransaction(connection)
    else:
        async with driver_connection(engine) as driver, driver.transaction():
            yield StatementTransaction(driver, engine.dialect)
