"""The line limit: a text is refused at its first line past ``Limits.line_bytes`` however its
bytes are cut into chunks, and never otherwise."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insights.errors import DataError
from insights.limits import Limits, LineWatch, check_lines, gunzip

LIMIT = 20


@given(
    lengths=st.lists(st.integers(0, 30), min_size=1, max_size=40),
    cuts=st.lists(st.integers(1, 25), max_size=60),
    final_newline=st.booleans(),
)
def test_the_first_line_past_the_limit_is_named_whatever_the_chunks(lengths, cuts, final_newline):
    text = b"\n".join(b"x" * n for n in lengths) + (b"\n" if final_newline else b"")
    watch = LineWatch("f.csv", Limits(line_bytes=LIMIT))
    too_long = [i + 1 for i, n in enumerate(lengths) if n > LIMIT]
    chunks, start = [], 0
    for cut in cuts:
        chunks.append(text[start : start + cut])
        start += cut
    chunks.append(text[start:])
    try:
        for chunk in chunks:
            watch.feed(chunk)
    except DataError as error:
        assert too_long, "refused a text with no line past the limit"
        assert f"line {too_long[0]:,} " in str(error)
    else:
        assert not too_long, f"line {too_long[0] if too_long else ''} passed"


def test_a_gzip_of_one_endless_line_is_refused_as_it_unpacks():
    data = gzip.compress(b"event_id,harm_area\n" + b"0" * (8 * 1024 * 1024))
    with pytest.raises(DataError, match="line 2 is longer than 1,024 KB"):
        gunzip("bomb.csv.gz", data, Limits(line_bytes=1024 * 1024))
    assert gunzip("ok.csv.gz", gzip.compress(b"a,b\n1,2\n")) == b"a,b\n1,2\n"


def test_a_plain_text_is_checked_before_parsing():
    check_lines("ok.csv", b"a,b\n" + b"1,2\n" * 1000, Limits(line_bytes=8))
    with pytest.raises(DataError, match="line 3 "):
        check_lines("long.csv", b"a,b\n1,2\n" + b"9" * 9 + b"\n", Limits(line_bytes=8))
