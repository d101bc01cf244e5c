"""Alembic environment: the URL comes from the caller (``fairdeal db upgrade``), never from a
file in the repository."""

from __future__ import annotations

from alembic import context

from fairdeal.adapters.db.engine import make_engine
from fairdeal.adapters.db.tables import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()  # its pool would otherwise keep the connection open until collected


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
