"""Accept-Language parsing (RFC 9110): weights, malformed weights, and the longest matching language range."""

from __future__ import annotations

import pytest

from app.i18n import from_accept_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-Hans-CN,zh;q=0.5", "zh-TW"),  # Simplified first has no catalogue; plain zh (Traditional) is next
        ("zh-Hans-CN", None),
        ("zh-hant-tw", "zh-TW"),
        ("en;q=0, zh-TW;q=0.1", "zh-TW"),  # q=0 means "not this one"
        ("en;q=high, zh-TW;q=0.2", "zh-TW"),  # a malformed weight counts as 0
        ("en;q=2, zh-TW;q=0.2", "zh-TW"),  # so does one out of range
        ("EN-us ; q=0.7 , zh-MO ; q=0.6", "en"),  # spaces and case
        ("*", None),
        (None, None),
    ],
)
def test_accept_language(header: str | None, expected: str | None) -> None:
    assert from_accept_language(header) == expected
