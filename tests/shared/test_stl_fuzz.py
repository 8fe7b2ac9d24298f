"""Property-based fuzzing of the STL reader: random bytes and mutated valid files either parse
into a sane mesh or raise StlError; nothing else escapes, nothing hangs, no header is trusted."""

import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samples.meshes import ascii_stl, binary_stl, box, wedge
from shared.geometry.stl import CAP_VARIABLE, Mesh, StlError, parse_stl, triangle_cap

FUZZ = settings(
    max_examples=300, deadline=1000, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
BINARY = binary_stl(np.concatenate([box(), wedge()]))
ASCII = ascii_stl(box()[:4]).encode()


def _check(data: bytes, cap: int | None = None) -> Mesh | None:
    """The contract: a sane mesh, or StlError with a one-line message naming the input."""
    try:
        mesh = parse_stl(data, "fuzzed.stl", cap)
    except StlError as e:
        assert str(e).startswith("fuzzed.stl: ") and "\n" not in str(e)
        return None
    t = mesh.triangles
    assert t.ndim == 3 and t.shape[1:] == (3, 3) and len(t) >= 1
    assert np.isfinite(t).all()
    assert len(t) <= (cap or triangle_cap())
    return mesh


@FUZZ
@given(st.binary(max_size=4000))
def test_random_bytes(data):
    _check(data)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_after_an_ascii_opening(tail):
    _check(b"solid x\n" + tail)


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, len(BINARY) - 1), st.integers(0, 255)), min_size=1, max_size=20
    ),
    st.integers(0, len(BINARY)),
)
def test_mutated_binary(flips, cut):
    data = bytearray(BINARY)
    for at, value in flips:
        data[at] = value
    _check(bytes(data))
    _check(bytes(data[:cut]))


@FUZZ
@given(st.integers(0, 2**32 - 1))
def test_any_declared_count(count):
    data = BINARY[:80] + struct.pack("<I", count) + BINARY[84:]
    mesh = _check(data)
    assert (mesh is not None) == (count == (len(BINARY) - 84) // 50)


@FUZZ
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(ASCII)),
            st.integers(0, 40),
            st.sampled_from([b"", b"nan", b"inf", b"1e999", b"-", b"facet", b"endloop", b"\r\n"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_mutated_ascii(edits):
    data = ASCII
    for at, length, insert in edits:
        data = data[:at] + insert + data[at + length :]
    _check(data)


def test_a_huge_declared_count_allocates_nothing():
    data = BINARY[:80] + struct.pack("<I", 2**32 - 1) + BINARY[84:]
    tracemalloc.start()
    with pytest.raises(StlError):
        parse_stl(data, "huge.stl", 2**40)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20, peak


def test_the_cap_is_configurable(monkeypatch):
    monkeypatch.setenv(CAP_VARIABLE, "15")
    assert triangle_cap() == 15
    with pytest.raises(StlError, match="exceeds the limit of 15"):
        parse_stl(BINARY, "capped.stl")
    assert len(parse_stl(BINARY, "capped.stl", 100)) == len(BINARY[84:]) // 50
    monkeypatch.setenv(CAP_VARIABLE, "lots")
    with pytest.raises(ValueError, match="MILLING_MAX_TRIANGLES='lots'"):
        triangle_cap()
