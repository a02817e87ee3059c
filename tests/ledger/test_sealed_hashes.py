"""The keyed hashes of readings and statements stay the bytes they always were: rows hashed by
earlier versions keep verifying (``db/sealed.py`` writes them faster, not differently)."""

import hashlib
import hmac
import json

from hypothesis import given, strategies as st

from tenant_ledger.db import sealed

from .storage_fixtures import KEY

values = st.lists(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        st.integers(),
        st.text(st.characters(exclude_categories=["Cs"])),
    ),
    max_size=16,
)


@given(values)
def test_canonical_bytes_are_compact_unescaped_json(row: list[str | int | None]) -> None:
    expected = json.dumps(row, separators=(",", ":"), ensure_ascii=False).encode()
    assert sealed.canonical(row) == expected


@given(st.binary(max_size=2000))
def test_the_key_signs_as_hmac_sha256(data: bytes) -> None:
    assert KEY.mac(data) == hmac.new(KEY.secret, data, hashlib.sha256).hexdigest()


def test_a_reading_is_hashed_over_the_same_bytes_as_before() -> None:
    row = {
        "id": 7,
        "point_id": "mqtt:a4cf12ab34cd:1",
        "ts": 1_795_132_800,
        "energy_wh": 1_234_567,
        "seq": None,
        "received_at_us": 1_795_132_801_000_000,
    }
    document = b'["readings",7,"mqtt:a4cf12ab34cd:1",1795132800,1234567,null,1795132801000000]'
    expected = hmac.new(KEY.secret, document, hashlib.sha256).hexdigest()[:32]
    assert sealed.READINGS.mac(KEY, row) == expected
