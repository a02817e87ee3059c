"""Pages and forms a tenant or a careless landlord can reach answer no 5xx, and money forms
post once however often they are sent."""

import asyncio
import contextlib
from datetime import timedelta
import re
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from tenant_ledger.billing.money import AmountError, AmountSign, parse_amount
from tenant_ledger.billing.timestamps import FIRST_DAY, LAST_DAY, from_us
from tenant_ledger.web import forms
from tests.ledger.conftest import Api

from .conftest import ALICE, LANDLORD, Browser

_FORM_KEY = re.compile(r'name="form_key" value="([A-Za-z0-9_-]+)"')


@pytest.mark.parametrize(
    "path",
    [
        "/tenants/t1/readings?to=9999-12-31",
        "/tenants/t1/readings?from=0001-01-01&to=0001-01-02",
        "/tenants/t1/readings?from=9999-12-31",
        "/tenants/t1/statements/9999-12-01",
        "/tenants/t1/statements/0001-01-01",
        "/tenants/t1/statements/9999-12-01.csv",
        "/tenants/t1/statements/9999-12-01/issued.pdf",
    ],
)
async def test_a_tenant_cannot_make_a_page_fail_with_far_dates(
    site: tuple[Api, Browser], path: str
) -> None:
    _api, browser = site
    reply = await browser.get(ALICE, path)
    assert reply.status in (200, 404), await reply.text()


async def test_ingress_headers_that_are_not_text_name_nobody(site: tuple[Api, Browser]) -> None:
    """Raw bytes on the socket from the trusted proxy: no identity, the "ask" page, no 500."""
    _api, browser = site
    reader, writer = await asyncio.open_connection("127.0.0.1", browser.client.server.port)
    writer.write(
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Remote-User-Id: \xff\xfe\r\n"
        b"X-Remote-User-Name: \xe9\r\nConnection: close\r\n\r\n"
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 403"), answer[:300]


@pytest.mark.parametrize(
    "body",
    [b"csrf_token=x&amount=\xff\xfe&reason=x", b"amount=1.00&reason=a%00b", b"a%00=1"],
)
async def test_a_form_that_is_not_text_is_refused_with_400(
    site: tuple[Api, Browser], body: bytes
) -> None:
    api, browser = site
    reply = await browser.client.post(
        "/tenants/t1/topup",
        data=body,
        headers={**LANDLORD.headers(), "Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
    )
    assert reply.status == 400
    assert "could not be read" in await reply.text()
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "-14.40"


async def test_an_exemption_until_the_end_of_time_is_refused(site: tuple[Api, Browser]) -> None:
    api, browser = site
    for until in ("9999-12-31T23:59", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00"):
        form = {"exempt": "on", "until": until, "reason": "x"}
        reply = await browser.post(LANDLORD, "/tenants/t1/exemption", form)
        assert reply.status == 400
        assert "Enter a date from 2000-01-01 to 2199-12-31" in await reply.text()
    assert (await api.call("GET", "/api/tenants/t1"))["status"] != "exempt"


@pytest.mark.parametrize(
    ("typed", "balance"), [("20,50", "6.10"), ("20.5", "6.10"), ("1", "-13.40")]
)
async def test_the_console_takes_a_decimal_comma(
    site: tuple[Api, Browser], typed: str, balance: str
) -> None:
    api, browser = site
    reply = await browser.post(LANDLORD, "/tenants/t1/topup", {"amount": typed, "reason": "x"})
    assert reply.status == 303
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == balance


@pytest.mark.parametrize(
    "typed",
    [
        "1e2",
        "1_000",
        "+5",
        ".5",
        "\u0661\u0662",
        "\uff11\uff12",
        "1 000",
        "1.000,50",
        "NaN",
        "Infinity",
    ],
)
async def test_the_console_refuses_what_the_grammar_refuses(
    site: tuple[Api, Browser], typed: str
) -> None:
    api, browser = site
    reply = await browser.post(LANDLORD, "/tenants/t1/topup", {"amount": typed, "reason": "x"})
    assert reply.status == 400
    assert "Enter an amount like 10.00" in await reply.text()
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "-14.40"


async def test_the_same_money_form_sent_twice_posts_once(site: tuple[Api, Browser]) -> None:
    api, browser = site
    page = await (await browser.get(LANDLORD, "/tenants/t1")).text()
    topup_key, adjustment_key = _FORM_KEY.findall(page)
    assert topup_key != adjustment_key
    form = {"amount": "20.00", "reason": "cash", "form_key": topup_key}
    for _ in range(3):  # a double click, then the back button and submit again
        reply = await browser.post(LANDLORD, "/tenants/t1/topup", form)
        assert reply.status == 303
        assert reply.headers["Location"] == "/tenants/t1?done=topup"
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "5.60"
    journal = (await api.call("GET", "/api/tenants/t1/journal"))["entries"]
    assert [entry["kind"] for entry in journal].count("top_up") == 1
    # The next form shown has a new key: a second, deliberate top-up posts.
    fresh = _FORM_KEY.findall(await (await browser.get(LANDLORD, "/tenants/t1")).text())[0]
    assert fresh != topup_key
    reply = await browser.post(LANDLORD, "/tenants/t1/topup", form | {"form_key": fresh})
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "25.60"


async def test_a_corrected_form_keeps_its_key_and_posts_once(site: tuple[Api, Browser]) -> None:
    api, browser = site
    page = await (await browser.get(LANDLORD, "/tenants/t1")).text()
    key = _FORM_KEY.findall(page)[0]
    refused = await browser.post(
        LANDLORD, "/tenants/t1/topup", {"amount": "20.005", "reason": "x", "form_key": key}
    )
    assert refused.status == 400
    assert _FORM_KEY.findall(await refused.text())[0] == key  # the page shown again keeps it
    corrected = {"amount": "20.00", "reason": "x", "form_key": key}
    for _ in range(2):
        assert (await browser.post(LANDLORD, "/tenants/t1/topup", corrected)).status == 303
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "5.60"


async def test_a_money_form_without_its_key_posts_nothing(site: tuple[Api, Browser]) -> None:
    api, browser = site
    for key in ("", "short", "not a key!" * 3):
        form = {"amount": "20.00", "reason": "x", "form_key": key}
        reply = await browser.post(LANDLORD, "/tenants/t1/topup", form)
        assert reply.status == 400
        assert "Reload the page" in await reply.text()
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "-14.40"


async def test_the_audit_log_names_the_ha_user_beside_the_actor(
    site: tuple[Api, Browser],
) -> None:
    api, browser = site
    await browser.post(LANDLORD, "/tenants/t1/topup", {"amount": "1.00", "reason": "x"})
    row = (await api.call("GET", "/api/audit"))["audit"][0]
    assert (row["action"], row["actor"], row["principal"]) == ("top_up", "ana", "ha_user:u-ana")


ANY_TEXT = st.text(st.characters(codec=None), max_size=40)
AMOUNT_LIKE = st.from_regex(r"-?[0-9]{1,6}([.,][0-9]{0,4})?", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(typed=ANY_TEXT | AMOUNT_LIKE, positive=st.booleans())
def test_any_typed_amount_is_the_grammars_amount_or_a_message(typed: str, positive: bool) -> None:
    """The console's amount field: exactly what ``parse_amount`` reads (with a decimal comma
    turned into the point), or a FormError for the field; never another exception."""
    sign = AmountSign.POSITIVE if positive else AmountSign.NONZERO
    as_point = typed.replace(",", ".") if typed.count(",") == 1 and "." not in typed else typed
    try:
        expected: int | None = parse_amount(as_point, "EUR", sign)
    except AmountError:
        expected = None
    minor: int | None = None
    with contextlib.suppress(forms.FormError):
        minor = forms.amount("amount", typed, "EUR", positive=positive)
    assert minor == expected


@settings(max_examples=300, deadline=None)
@given(typed=ANY_TEXT | st.datetimes().map(lambda moment: moment.isoformat()))
def test_any_typed_time_is_a_supported_instant_or_a_message(typed: str) -> None:
    micros: int | None = None
    with contextlib.suppress(forms.FormError):
        micros = forms.local_time("until", typed, ZoneInfo("Europe/Berlin"))
    if micros is not None:  # the typed day is in range; its UTC instant at most a day off
        day = from_us(micros).date()
        assert FIRST_DAY - timedelta(days=1) <= day <= LAST_DAY + timedelta(days=1)
