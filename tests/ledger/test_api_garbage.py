"""Hypothesis garbage in every part of every API request: nothing answers 5xx.

A real ledger process, every route of the table, with the admin token (so the garbage gets
past authentication into validation): bodies of random bytes, random JSON of any depth and
text, path parameters and query strings of random bytes, random extra headers and broken
Authorization headers. Every answer is below 500, and every refusal by the application is the
JSON error shape.
"""

from collections.abc import Iterator
import http.client
import json
from pathlib import Path
import re
from typing import Any
from urllib.parse import quote_from_bytes

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from tenant_ledger.api.routes import ROUTES
from tenant_sim.clock import SimClock

from .conftest import FLAT_TARIFF
from .ledger_process import TOKEN, LedgerProcess, add_prepaid_tenant

EXAMPLES = 15
_PARAMETER = re.compile(r"{\w+}")
NASTY_TEXT = st.text(
    alphabet=st.characters(codec=None, exclude_categories=()),  # surrogates and NUL included
    max_size=30,
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | NASTY_TEXT
    | st.sampled_from(
        ["1e999999", "NaN", "-0", "1_000", "\u0661\u0662", "\uff19", "9999-12-31T23:59:59-14:00"]
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(NASTY_TEXT, inner, max_size=4),
    max_leaves=20,
)
FIELD_NAMES = st.sampled_from(
    ["amount", "reason", "actor", "ref", "id", "name", "plan", "at", "until", "points", "space",
     "tariff", "effective_from", "kind", "readings", "exempt", "user_id", "max_power_w",
     "window_start", "window_end", "minimum_per_hour", "enabled", "status"]
)  # fmt: skip


def _raw_json(value: Any) -> bytes:
    """``value`` as JSON text, lone surrogates written as the escapes a client may send."""
    return json.dumps(value, ensure_ascii=True).encode()


BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(_raw_json),
    st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=6).map(_raw_json),
    st.integers(min_value=1, max_value=100_000).map(lambda depth: b"[" * depth),
    st.integers(min_value=1, max_value=5_000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.sampled_from([b"\xff\xfe\xfd", b'{"amount": 1e999999, "reason": "x"}', b"NaN"]),
)
SEGMENTS = st.binary(min_size=1, max_size=40).map(lambda raw: quote_from_bytes(raw, safe=""))
QUERIES = st.lists(st.tuples(st.binary(max_size=12), st.binary(max_size=30)), max_size=4).map(
    lambda pairs: "&".join(
        f"{quote_from_bytes(key, safe='')}={quote_from_bytes(value, safe='')}"
        for key, value in pairs
    )
)
HEADER_VALUES = st.binary(max_size=60).map(
    lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"").strip()
)
AUTHORIZATION = st.one_of(
    st.just(f"Bearer {TOKEN}".encode()),
    HEADER_VALUES,
    HEADER_VALUES.map(lambda raw: b"Bearer " + raw),
)


@pytest.fixture
def ledger(tmp_path: Path, socket_enabled: None) -> Iterator[LedgerProcess]:
    process = LedgerProcess(tmp_path / "ledger", clock=SimClock.at("2026-11-10T12:00:00+00:00"))
    process.start()
    add_prepaid_tenant(process, FLAT_TARIFF)
    yield process
    process.stop()


def _send(
    port: int, method: str, target: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        reply = connection.getresponse()
        return reply.status, reply.getheader("Content-Type", ""), reply.read()
    finally:
        connection.close()


def _probe(route: Any, port: int, wrong: list[str]) -> None:
    """Send ``route`` garbage; note in ``wrong`` every answer that breaks the promise."""

    @given(
        segments=st.lists(SEGMENTS, min_size=2, max_size=2),
        query=QUERIES,
        body=BODIES,
        authorization=AUTHORIZATION,
        extra=st.lists(
            st.tuples(st.sampled_from([b"Content-Type", b"X-Remote-User-Id", b"Accept"]),
                      HEADER_VALUES),
            max_size=2,
        ),
    )  # fmt: skip
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def probe(
        segments: list[str],
        query: str,
        body: bytes,
        authorization: bytes,
        extra: list[tuple[bytes, bytes]],
    ) -> None:
        fill = iter(segments)
        path = _PARAMETER.sub(lambda _match: next(fill), route.path)
        target = f"{path}?{query}" if query else path
        headers = [(b"Authorization", authorization), *extra]
        status, content_type, answer = _send(port, route.method, target, body, headers)
        refused_by_application = content_type.startswith("application/json")
        if status >= 500 or (status >= 400 and refused_by_application and b'"error"' not in answer):
            wrong.append(f"{route.method} {target[:80]} {body[:80]!r}: {status} {answer[:200]!r}")

    probe()


@pytest.mark.slow
def test_garbage_in_any_part_of_any_request_is_never_a_server_error(
    ledger: LedgerProcess,
) -> None:
    wrong: list[str] = []
    for route in ROUTES:
        _probe(route, ledger.port, wrong)
    assert wrong == []
    assert ledger.running
