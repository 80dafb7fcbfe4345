"""Alembic environment: runs on the connection handed over by ``Database.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from securenet.store.schema import Base

config = context.config
connection = config.attributes.get("connection")


def run(connection_: Connection) -> None:
    context.configure(
        connection=connection_,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:  # the alembic CLI, pointed at a URL
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        run(conn)
