"""A statement document (the JSON the ledger stores) as CSV or as a printable PDF."""

import csv
import io
from typing import Any

from tenant_ledger.pdf import text_pdf


def _rows(document: dict[str, Any]) -> list[list[str]]:
    """Section, item, quantity, unit price, amount: one table for both formats."""
    rows = [
        ["period", f"{document['period_start']} .. {document['period_end']}", "", "", ""],
        ["opening balance", "", "", "", document["opening_balance"]],
    ]
    for line in document["lines"]:
        quantity = line.get("energy_kwh") or line.get("days", "")
        unit = "kWh" if "energy_kwh" in line else "days"
        rows.append(
            [
                "charge",
                line["label"],
                f"{quantity} {unit}",
                line.get("unit_price", ""),
                line["amount"],
            ]
        )
    rows.extend(
        ["tax", f"{tax['rate']} on {tax['base']}", "", "", tax["tax"]] for tax in document["taxes"]
    )
    rows.append(["total", "", f"{document['energy_kwh']} kWh", "", document["total"]])
    rows.extend(
        [
            "credit",
            f"{credit['kind']} {credit['time']} {credit['description']}",
            "",
            "",
            credit["amount"],
        ]
        for credit in document["credits"]
    )
    rows.append(["closing balance", "", "", "", document["closing_balance"]])
    return rows


def to_csv(document: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "item", "quantity", "unit_price", f"amount_{document['currency']}"])
    writer.writerows(_rows(document))
    return out.getvalue()


def to_pdf(document: dict[str, Any]) -> bytes:
    header = [
        f"Statement for {document['tenant_name']} ({document['tenant_id']})",
        f"Issued {document['issued_at']}   due {document['due_at']}",
        f"Amounts in {document['currency']}",
        "",
    ]
    table = [
        f"{section:<16} {item[:44]:<44} {quantity:>14} {amount:>12}"
        for section, item, quantity, _unit, amount in _rows(document)
    ]
    points = ["", "Metering points:"] + [
        f"  {point['point']}: {point['energy_kwh']} kWh" for point in document["points"]
    ]
    return text_pdf(header + table + points)
