"""Alembic migrations, shipped inside the package so the add-on upgrades its own database."""
