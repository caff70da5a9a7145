import pytest

from chalicelib.errors import MalformedJson, PayloadTooLarge
from chalicelib.request_body import read_json

LIMIT = 1024


def test_strict_json_is_parsed():
    assert read_json(b'{"a": [1, 2.5, "x", null, true]}', LIMIT) == {"a": [1, 2.5, "x", None, True]}


@pytest.mark.parametrize("body, message", [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"{", "not valid JSON"),
    (b"{'a': 1}", "not valid JSON"),
    (b'{"a": 1} trailing', "not valid JSON"),
    (b'{"a": NaN}', "NaN is not a JSON number"),
    (b'{"a": Infinity}', "Infinity is not a JSON number"),
    (b'[-Infinity]', "-Infinity is not a JSON number"),
    (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
    (b'\xff\xfe{}', "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b"1" * 5000, "an integer of over 4300 digits"),
])
def test_bad_bodies_are_malformed_json_with_a_reason(body, message):
    with pytest.raises(MalformedJson, match=message) as caught:
        read_json(body, 1_000_000)
    assert caught.value.status == 400


def test_a_body_over_the_limit_is_413():
    with pytest.raises(PayloadTooLarge, match="1025 bytes, over the limit of 1024") as caught:
        read_json(b" " * (LIMIT + 1), LIMIT)
    assert caught.value.status == 413
