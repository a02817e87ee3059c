"""Statements keep their bookkeeping in columns and serve one typed document (schema 2).

Adds ``number``, ``opening_minor``, ``closing_minor`` and ``energy_seen`` to ``statements`` and
moves them out of the public JSON: the ``books`` of older statements become the columns, and
their bodies are rewritten into the schema-2 document (with "charged earlier/ahead" kept as
lines, so each old statement still adds up as it was issued).

Revision ID: 0008
Revises: 0007
"""

from datetime import UTC, datetime
from decimal import Decimal
import json
from typing import Any

from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_EXPONENTS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3, "JOD": 3}


def _minor(text: str, currency: str) -> int:
    return int(Decimal(text).scaleb(_EXPONENTS.get(currency, 2)))


def _row(kind: str, label: str, amount: str, line: dict[str, Any] | None = None) -> dict[str, Any]:
    line = line or {}
    if "days" in line:
        numerator, _, denominator = str(line["days"]).partition("/")
        quantity = str((Decimal(numerator) / Decimal(denominator or 1)).quantize(Decimal("0.01")))
        unit = "day"
    else:
        quantity, unit = str(line.get("energy_kwh", "0")), "kWh"
    return {
        "kind": kind,
        "label": label,
        "quantity": quantity,
        "unit": unit,
        "unit_price": line.get("unit_price"),
        "amount": amount,
    }


def _negated(amount: str) -> str:
    return amount[1:] if amount.startswith("-") else f"-{amount}"


def legacy_document(old: dict[str, Any], number: str) -> dict[str, Any]:
    """A schema-1 body as a schema-2 document (what it said, in the new shape)."""
    kinds = {"standing": "standing"}
    late = [
        _row("late", item["label"], item["amount"], item) for item in old.get("late_readings", [])
    ]
    if "charged_ahead" in old:
        late.append(_row("late", "charged ahead (next period)", old["charged_ahead"]))
        late.append(_row("late", "charged earlier", _negated(old["charged_earlier"])))
    return {
        "schema": 2,
        "number": number,
        "preview": False,
        "issuer": {"name": "", "address": "", "tax_name": "Tax"},
        "tenant_id": old["tenant_id"],
        "tenant_name": old["tenant_name"],
        "rooms": [point["point"] for point in old.get("points", [])],
        "currency": old["currency"],
        "period_start": old["period_start"][:10],
        "period_end": old["period_end"][:10],
        "issued_on": old["issued_at"][:10],
        "due_on": old["due_at"][:10],
        "opening_balance": old["opening_balance"],
        "lines": [
            _row(
                kinds.get(line["label"], "shared" if line.get("shared") else "energy"),
                line["label"],
                line["amount"],
                line,
            )
            for line in old["lines"]
        ],
        "net": old["net"],
        "taxes": [
            {"name": "Tax", "rate": tax["rate"], "base": tax["base"], "tax": tax["tax"]}
            for tax in old["taxes"]
        ],
        "tax": old["tax"],
        "total": old["total"],
        "late_readings": late,
        "credits": [
            {
                "date": credit["time"][:10],
                "kind": credit["kind"],
                "description": credit.get("description", ""),
                "amount": credit["amount"],
            }
            for credit in old["credits"]
        ],
        "closing_balance": old["closing_balance"],
        "energy_kwh": old["energy_kwh"],
        "meters": [
            {
                "point": point["point"],
                "name": point["point"],
                "first": None,
                "last": None,
                "energy_kwh": point["energy_kwh"],
                "events": point.get("events", []),
            }
            for point in old.get("points", [])
        ],
        "usage": [],
    }


def upgrade() -> None:
    with op.batch_alter_table("statements") as batch:
        batch.add_column(sa.Column("number", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("opening_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("closing_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("energy_seen", sa.Text(), nullable=False, server_default="{}"))
    connection = op.get_bind()
    table = sa.table(
        "statements",
        sa.column("id", sa.Integer()),
        sa.column("issued_at_us", sa.BigInteger()),
        sa.column("currency", sa.String()),
        sa.column("body", sa.Text()),
        sa.column("total_minor", sa.BigInteger()),
        sa.column("number", sa.String()),
        sa.column("opening_minor", sa.BigInteger()),
        sa.column("closing_minor", sa.BigInteger()),
        sa.column("energy_seen", sa.Text()),
    )
    rows = connection.execute(
        sa.select(
            table.c.id, table.c.issued_at_us, table.c.currency, table.c.body, table.c.total_minor
        )
    ).all()
    for row in rows:
        year = datetime.fromtimestamp(row.issued_at_us // 1_000_000, UTC).year
        number = f"{year}-{row.id:05d}"
        old = json.loads(row.body)
        try:
            books = old.get("books") or {}
            values = {
                "opening_minor": _minor(old["opening_balance"], row.currency),
                "closing_minor": books.get(
                    "closing_minor", _minor(old["closing_balance"], row.currency)
                ),
                "energy_seen": json.dumps(books.get("energy_seen", {})),
                "body": json.dumps(legacy_document(old, number)),
            }
        except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError):
            # A document not in the 0.2 shape is kept as it was, never lost: its numbers come
            # from the columns (a statement moves the balance by its total).
            values = {"opening_minor": 0, "closing_minor": -row.total_minor}
        connection.execute(
            table.update().where(table.c.id == row.id).values(number=number, **values)
        )
    with op.batch_alter_table("statements") as batch:
        batch.create_unique_constraint("statement_number", ["number"])


def downgrade() -> None:
    with op.batch_alter_table("statements") as batch:
        batch.drop_constraint("statement_number", type_="unique")
        batch.drop_column("energy_seen")
        batch.drop_column("closing_minor")
        batch.drop_column("opening_minor")
        batch.drop_column("number")
