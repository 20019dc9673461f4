"""Engine creation, transactions and schema upgrades.

SQLite runs in WAL mode with ``synchronous=FULL`` (a commit is on disk when it returns)
and every transaction opens with ``BEGIN IMMEDIATE``, so read-modify-write sequences
hold the write lock from their first statement and never fail late with a stale snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import Conflict, InvalidInput, StorageError

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_MS = 30_000
READ_ONLY = "bastion_read_only"


def _normalise_url(url: str) -> str:
    # Plain postgresql:// URLs would pick psycopg2, which Bastion does not ship.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def create_engine_for(url: str) -> Engine:
    """Create an engine with Bastion's durability and locking settings."""
    url = _normalise_url(url)
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            _configure_sqlite(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (exc.ArgumentError, exc.NoSuchModuleError) as err:
        raise StorageError(f"unusable database URL: {err}", code="db.bad_url") from err
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (a crypto-shredded data key) are overwritten, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers take a plain snapshot (WAL: never blocks writers); writers take the
        # write lock up front.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def truncate_sqlite_wal(engine: Engine) -> bool:
    """Fold SQLite's write-ahead log into the database file and empty it.

    After a secret is deleted (a crypto-shredded data key), ``secure_delete`` has zeroed
    it in the database pages, but older copies of those pages can sit in the WAL until
    a checkpoint. Returns False when a reader kept the checkpoint from completing, and
    True (also for PostgreSQL, where this does not apply) otherwise.
    """
    if engine.dialect.name != "sqlite":
        return True
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        busy, _log, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
        return not busy
    finally:
        raw.close()


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only: on SQLite it never takes the write lock."""
    with engine.connect() as conn:
        conn.execution_options(**{READ_ONLY: True})
        yield conn


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One database transaction: commit on success, roll back on any error.

    SQLAlchemy errors are translated here, once: integrity violations become
    :class:`Conflict`, everything else :class:`StorageError`.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except exc.IntegrityError as err:
        session.rollback()
        raise Conflict("the change conflicts with existing data", code="db.conflict") from err
    except exc.SQLAlchemyError as err:
        session.rollback()
        raise StorageError(f"database error: {type(err).__name__}") from err
    except UnicodeEncodeError as err:
        session.rollback()
        raise InvalidInput(
            "text must be valid Unicode (no lone surrogates)", code="input.bad_text"
        ) from err
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration pointing at the migrations shipped inside the package."""
    # Alembic is imported only when a workspace is opened: commands without one (model
    # scan, deps audit) start a quarter of a second faster.
    from alembic.config import Config

    cfg = Config()
    location = resources.files("bastion.db") / "migrations"
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade_schema(engine: Engine) -> None:
    """Bring the database schema to the newest migration."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "head")
    except exc.SQLAlchemyError as err:
        raise StorageError(f"schema migration failed: {type(err).__name__}: {err}") from err


def schema_is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    return set(current) == set(script.get_heads())
