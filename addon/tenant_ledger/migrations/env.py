"""Alembic environment: always runs on the connection the ledger hands over."""

from alembic import context
from sqlalchemy.engine import Connection

from tenant_ledger.db.schema import metadata

connection: Connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
