"""Running the migrations (alembic), loaded only when the database is not at the newest one."""

from alembic import command
from alembic.config import Config
import sqlalchemy as sa
from sqlalchemy.engine import Engine


def _alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", "tenant_ledger:migrations")
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        command.downgrade(_alembic_config(connection), revision)
