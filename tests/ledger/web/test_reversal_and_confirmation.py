"""One-click reversal of a money entry, and the second look above the landlord's limit."""

import csv
from datetime import UTC, datetime
import io
import re

import pytest
import sqlalchemy as sa

from tenant_ledger.db import journal_store
from tenant_ledger.journal import Leg, Posting, PostingKind, validate_balanced, validate_kinds
from tenant_ledger.service import LedgerService
from tests.ledger.conftest import Api, FakeClock

from .conftest import ALICE, LANDLORD, Browser

_REVERSE = re.compile(r'action="(/tenants/t1/entries/(\d+)/reverse)"')


async def _balance(api: Api) -> str:
    return str((await api.call("GET", "/api/tenants/t1"))["balance"])


async def test_a_top_up_is_reversed_once_with_its_legs_negated(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site
    before = await _balance(api)
    await browser.post(LANDLORD, "/tenants/t1/topup", {"amount": "20.00", "reason": "cash"})
    page = await (await browser.get(LANDLORD, "/tenants/t1")).text()
    (path, entry_id), *_ = _REVERSE.findall(page)

    refused = await browser.post(LANDLORD, path, {"reason": ""})
    assert refused.status == 400
    assert "This is required" in await refused.text()
    assert await _balance(api) == "5.60" != before

    done = await browser.post(LANDLORD, path, {"reason": "typed 20 instead of 2"})
    assert done.status == 303, await done.text()
    assert await _balance(api) == before
    # A second click (or a replayed form) answers as the first and posts nothing more.
    again = await browser.post(LANDLORD, path, {"reason": "again"})
    assert again.status == 303
    assert await _balance(api) == before

    page = await (await browser.get(LANDLORD, "/tenants/t1")).text()
    assert f"reversed by #{int(entry_id) + 1}" in page
    assert f"reverses #{entry_id}" in page
    assert "typed 20 instead of 2" in page
    assert f"/entries/{entry_id}/reverse" not in page
    audit = (await api.call("GET", "/api/audit"))["audit"]
    assert (audit[0]["action"], audit[0]["actor"]) == ("reversal", "ana")
    original, reversal = await ledger.read(
        lambda c, _cat: [journal_store.entry(c, int(entry_id) + n) for n in (0, 1)]
    )
    assert original is not None
    assert reversal is not None
    assert reversal.posting.kind == PostingKind.REVERSAL
    assert reversal.posting.legs == tuple(
        Leg(account=leg.account, amount_minor=-leg.amount_minor) for leg in original.posting.legs
    )
    assert reversal.posting.ref == f"reversal:{entry_id}"
    assert validate_kinds([reversal]) == validate_balanced([reversal]) == []


async def test_only_money_entries_of_the_pages_tenant_are_reversed(
    site: tuple[Api, Browser],
) -> None:
    api, browser = site
    await browser.post(LANDLORD, "/tenants/t2/topup", {"amount": "3.00", "reason": "cash"})
    page = await (await browser.get(LANDLORD, "/tenants/t2")).text()
    entry_id = re.findall(r"/tenants/t2/entries/(\d+)/reverse", page)[0]
    before = await _balance(api)
    # t2's entry through t1's page: not t1's entry.
    reply = await browser.post(LANDLORD, f"/tenants/t1/entries/{entry_id}/reverse", {"reason": "x"})
    assert reply.status == 400
    assert f"entry {entry_id} does not exist" in await reply.text()
    missing = await browser.post(LANDLORD, "/tenants/t1/entries/999999/reverse", {"reason": "x"})
    assert missing.status == 400
    assert await _balance(api) == before
    # The tenant cannot reverse anything, not even on their own account.
    assert (
        await browser.post(ALICE, f"/tenants/t1/entries/{entry_id}/reverse", {"reason": "x"})
    ).status == 404


async def test_a_top_up_above_the_limit_asks_once_and_posts_once(
    site: tuple[Api, Browser],
) -> None:
    api, browser = site
    before = await _balance(api)
    data = {"amount": "1000000.00", "reason": "bank transfer", "form_key": "k" * 20}
    first = await browser.post(LANDLORD, "/tenants/t1/topup", data)
    assert first.status == 200
    text = await first.text()
    assert "Confirm top-up of 1000000.00 EUR" in text
    assert 'name="confirmed" value="100000000"' in text
    assert await _balance(api) == before

    # A confirmation for another amount confirms nothing.
    other = await browser.post(
        LANDLORD, "/tenants/t1/topup", data | {"amount": "2000000.00", "confirmed": "100000000"}
    )
    assert other.status == 200
    assert await _balance(api) == before

    confirmed = await browser.post(LANDLORD, "/tenants/t1/topup", data | {"confirmed": "100000000"})
    assert confirmed.status == 303
    assert await _balance(api) == "999985.60"
    # The confirmation page posted twice (back button) is the same one-time key: posted once.
    again = await browser.post(LANDLORD, "/tenants/t1/topup", data | {"confirmed": "100000000"})
    assert again.status == 303
    assert await _balance(api) == "999985.60"


async def test_at_the_limit_and_negative_adjustments_count_by_size(
    site: tuple[Api, Browser],
) -> None:
    api, browser = site
    at_limit = await browser.post(
        LANDLORD, "/tenants/t1/topup", {"amount": "500.00", "reason": "x"}
    )
    assert at_limit.status == 303
    big_minus = await browser.post(
        LANDLORD, "/tenants/t1/adjustment", {"amount": "-500.01", "reason": "x"}
    )
    assert big_minus.status == 200
    assert "Confirm adjustment of -500.01 EUR" in await big_minus.text()
    assert await _balance(api) == "485.60"


async def test_the_database_refuses_a_second_reversal_of_an_entry(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    _api, browser = site
    await browser.post(LANDLORD, "/tenants/t1/topup", {"amount": "2.00", "reason": "cash"})
    page = await (await browser.get(LANDLORD, "/tenants/t1")).text()
    (path, entry_id), *_ = _REVERSE.findall(page)
    assert (await browser.post(LANDLORD, path, {"reason": "wrong tenant"})).status == 303
    original = await ledger.read(lambda c, _cat: journal_store.entry(c, int(entry_id)))
    assert original is not None
    # Past the operation's own check, straight to the journal: the unique ref refuses it.
    forged = Posting(
        kind=PostingKind.REVERSAL,
        currency="EUR",
        actor="ana",
        reason="twice",
        tenant_id="t1",
        ref=f"reversal:{entry_id}",
        legs=tuple(
            Leg(account=leg.account, amount_minor=-leg.amount_minor)
            for leg in original.posting.legs
        ),
    )
    with pytest.raises(sa.exc.IntegrityError):
        await ledger.write(
            lambda c, _cat: journal_store.append(c, forged, ledger.clock()), affects=["t1"]
        )


async def test_the_statement_lists_the_reversal_and_closes_at_the_balance(
    site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock
) -> None:
    api, browser = site
    await browser.post(LANDLORD, "/tenants/t1/topup", {"amount": "20.00", "reason": "cash"})
    page = await (await browser.get(LANDLORD, "/tenants/t1")).text()
    (path, _entry_id), *_ = _REVERSE.findall(page)
    assert (await browser.post(LANDLORD, path, {"reason": "bounced"})).status == 303
    clock.now_us = int(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp()) * 1_000_000
    await ledger.tick()
    rows = list(
        csv.reader(
            io.StringIO(
                await (
                    await browser.get(LANDLORD, "/tenants/t1/statements/2026-11-01/issued.csv")
                ).text()
            )
        )
    )
    credits = [row[1:] for row in rows if row[0] == "credit"]
    assert credits == [
        ["top_up 2026-11-10 cash", "", "", "", "20.00"],
        ["reversal 2026-11-10 bounced", "", "", "", "-20.00"],
    ]
    closing = [row for row in rows if row and row[0] == "closing"]
    assert closing, rows
    assert closing[0][-1] == (await api.call("GET", "/api/tenants/t1"))["balance"]
