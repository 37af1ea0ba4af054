"""Statements on the driver connection: a one-row read gives the same row as SQLAlchemy's, a
one-row write commits, a transaction of statements commits or rolls back as a whole (on the
driver, and through SQLAlchemy while statements are traced), broken connections are discarded
and answered as a database outage."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy import Column, MetaData, String, Table, any_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncEngine

from nova_kit import tracing
from nova_kit.db import (
    DatabaseConfig,
    OneRowRead,
    OneRowStatement,
    async_url,
    create_engine,
    driver_transaction,
    pool_status,
)
from nova_kit.errors import dependency_failure

SCHEMA = "kit_reads"
metadata = MetaData(schema=SCHEMA)
things = Table(
    "things",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", String(20), nullable=False),
    Column("note", String(20), nullable=True),
)
THING_BY_ID = OneRowRead(select(things).where(things.c.id == bindparam("thing_id")))
RENAME = OneRowStatement(
    update(things)
    .where(things.c.id == bindparam("thing_id"), things.c.note.is_(None))
    .values(name=bindparam("name"))
    .returning(things)
)
ANNOTATE = OneRowStatement(
    update(things).where(things.c.id == bindparam("thing_id")).values(note=bindparam("note"))
)
THINGS_BY_IDS = OneRowRead(
    select(things).where(things.c.id == any_(bindparam("thing_ids", type_=ARRAY(UUID()))))
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    config = DatabaseConfig(
        url=async_url(database_url),
        schema=SCHEMA,
        pool_size=1,
        max_overflow=0,
        pool_timeout=5,
        statement_timeout_ms=5_000,
        application_name="nova-kit-reads",
        pool_name="kit-reads",
    )
    engine = create_engine(config)
    async with engine.begin() as connection:
        await connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await connection.run_sync(metadata.create_all)
    yield engine
    async with engine.begin() as connection:
        await connection.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    await engine.dispose()


async def test_a_row_comes_back_as_sqlalchemy_reads_it(engine: AsyncEngine) -> None:
    thing_id = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(things.insert().values(id=thing_id, name="lamp", note=None))
        expected = (await connection.execute(select(things))).mappings().one()
    found = await THING_BY_ID.one_or_none(engine, thing_id=thing_id)
    assert found == dict(expected)
    assert isinstance(found["id"], uuid.UUID)
    assert await THING_BY_ID.one_or_none(engine, thing_id=uuid.uuid4()) is None
    assert pool_status(engine)["checked_out"] == 0


async def stored(engine: AsyncEngine, thing_id: uuid.UUID) -> dict[str, object]:
    async with engine.connect() as connection:
        row = (await connection.execute(select(things).where(things.c.id == thing_id))).mappings()
        return dict(row.one())


@pytest.fixture
async def thing_id(engine: AsyncEngine) -> uuid.UUID:
    """A lamp, stored."""
    thing_id = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(things.insert().values(id=thing_id, name="lamp"))
    return thing_id


@pytest.fixture(params=["driver", "traced"])
def traced(request: pytest.FixtureRequest, engine: AsyncEngine) -> Iterator[str]:
    """Each test twice: on the driver, and through SQLAlchemy as while statements get spans."""
    if request.param == "traced":
        tracing._TRACED_ENGINES.add(engine.sync_engine)
    yield request.param
    tracing._TRACED_ENGINES.discard(engine.sync_engine)


async def test_a_one_row_write_commits_and_answers_the_row(
    engine: AsyncEngine, traced: str, thing_id: uuid.UUID
) -> None:
    changed = await RENAME.one_or_none(engine, thing_id=thing_id, name="lantern")
    assert changed == {"id": thing_id, "name": "lantern", "note": None}
    assert await stored(engine, thing_id) == changed
    # the condition does not hold any more: nothing written, no row answered
    await ANNOTATE.one_or_none(engine, thing_id=thing_id, note="old")
    assert await RENAME.one_or_none(engine, thing_id=thing_id, name="torch") is None
    assert (await stored(engine, thing_id))["name"] == "lantern"
    assert pool_status(engine)["checked_out"] == 0


async def test_a_transaction_of_statements_commits_or_rolls_back_as_a_whole(
    engine: AsyncEngine, traced: str, thing_id: uuid.UUID
) -> None:
    async with driver_transaction(engine) as statements:
        assert (await statements.one_or_none(RENAME, thing_id=thing_id, name="lantern")) == {
            "id": thing_id,
            "name": "lantern",
            "note": None,
        }
        await statements.execute(ANNOTATE, thing_id=thing_id, note="lit")
    assert await stored(engine, thing_id) == {"id": thing_id, "name": "lantern", "note": "lit"}

    async def change_then_fail() -> None:
        async with driver_transaction(engine) as statements:
            await statements.execute(ANNOTATE, thing_id=thing_id, note=None)
            assert await statements.one_or_none(RENAME, thing_id=thing_id, name="torch")
            raise LookupError("changed my mind")

    with pytest.raises(LookupError):
        await change_then_fail()
    assert await stored(engine, thing_id) == {"id": thing_id, "name": "lantern", "note": "lit"}
    assert pool_status(engine)["checked_out"] == 0


async def test_a_batch_of_rows_comes_back_as_sqlalchemy_reads_it(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    async with engine.begin() as connection:
        for number, thing_id in enumerate(ids):
            await connection.execute(things.insert().values(id=thing_id, name=f"t{number}"))
        expected = (await connection.execute(select(things))).mappings().all()
    wanted = [ids[0], ids[2], uuid.uuid4()]  # one unknown id: no row for it
    found = await THINGS_BY_IDS.all(engine, thing_ids=wanted)
    by_id = {row["id"]: dict(row) for row in expected}
    assert sorted(found, key=lambda row: row["name"]) == [by_id[ids[0]], by_id[ids[2]]]
    assert await THINGS_BY_IDS.all(engine, thing_ids=[]) == []
    assert pool_status(engine)["checked_out"] == 0
    # with SQL statements traced, the same read goes through SQLAlchemy and answers the same
    monkeypatch.setattr("nova_kit.tracing.sql_traced", lambda _engine: True)
    traced = await THINGS_BY_IDS.all(engine, thing_ids=wanted)
    assert sorted(traced, key=lambda row: row["name"]) == [by_id[ids[0]], by_id[ids[2]]]


async def test_a_lost_connection_is_discarded_and_answered_as_an_outage(
    engine: AsyncEngine,
) -> None:
    thing_id = uuid.uuid4()
    async with engine.begin() as connection:
        await connection.execute(things.insert().values(id=thing_id, name="lamp"))
    assert await THING_BY_ID.one_or_none(engine, thing_id=thing_id) is not None
    async with engine.connect() as connection:
        pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await connection.rollback()
    killer = await asyncpg.connect(str(engine.url).replace("+asyncpg", ""))
    try:
        # wait (at most 5 s) for the backend to be gone, so the next read meets a dead connection
        await killer.execute("SELECT pg_terminate_backend($1, 5000)", pid)
    finally:
        await killer.close()

    with pytest.raises(Exception) as error:  # noqa: PT011 - asyncpg's connection errors vary
        await THING_BY_ID.one_or_none(engine, thing_id=thing_id)
    failure = dependency_failure(error.value)
    assert failure is not None
    assert failure[0] == "database_unavailable"
    # The pool opened a fresh connection instead of handing out the dead one again.
    assert await THING_BY_ID.one_or_none(engine, thing_id=thing_id) is not None
