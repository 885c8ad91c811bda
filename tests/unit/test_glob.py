"""Redis glob matching: hand-picked cases plus a property test against a direct model of Redis's
recursive `stringmatchlen` loop (written here from its algorithm, byte by byte, signed chars
and all)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ember.keyspace.glob import glob_match, glob_matcher


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def _lower(value: int) -> int:
    return value + 32 if 65 <= value <= 90 else value


def reference_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """Model of Redis's stringmatchlen: a position-by-position walk with recursion on '*'."""
    skip_longer = [False]

    def walk(p: int, s: int, nesting: int) -> bool:
        if nesting > 1000:
            return False
        while p < len(pattern) and s < len(string):
            ch = pattern[p]
            if ch == ord("*"):
                while p + 1 < len(pattern) and pattern[p + 1] == ord("*"):
                    p += 1
                if p == len(pattern) - 1:
                    return True
                while s < len(string):
                    if walk(p + 1, s, nesting + 1):
                        return True
                    if skip_longer[0]:
                        return False
                    s += 1
                skip_longer[0] = True
                return False
            if ch == ord("?"):
                s += 1
            elif ch == ord("["):
                p += 1
                negate = p < len(pattern) and pattern[p] == ord("^")
                if negate:
                    p += 1
                matched = False
                c = string[s]
                while True:
                    remaining = len(pattern) - p
                    if remaining >= 2 and pattern[p] == ord("\\"):
                        p += 1
                        matched |= pattern[p] == c
                    elif remaining > 0 and pattern[p] == ord("]"):
                        break
                    elif remaining == 0:
                        p -= 1
                        break
                    elif remaining >= 3 and pattern[p + 1] == ord("-"):
                        lo, hi = sorted((_signed(pattern[p]), _signed(pattern[p + 2])))
                        sc = _signed(c)
                        if nocase:
                            lo, hi, sc = _lower(lo), _lower(hi), _lower(sc)
                        p += 2
                        matched |= lo <= sc <= hi
                    elif nocase:
                        matched |= _lower(pattern[p]) == _lower(c)
                    else:
                        matched |= pattern[p] == c
                    p += 1
                if negate:
                    matched = not matched
                if not matched:
                    return False
                s += 1
            else:
                if ch == ord("\\") and len(pattern) - p >= 2:
                    p += 1
                    ch = pattern[p]
                same = _lower(ch) == _lower(string[s]) if nocase else ch == string[s]
                if not same:
                    return False
                s += 1
            p += 1
            if s == len(string):
                while p < len(pattern) and pattern[p] == ord("*"):
                    p += 1
                break
        return p == len(pattern) and s == len(string)

    return walk(0, 0, 0)


@pytest.mark.parametrize(
    ("pattern", "string", "expected"),
    [
        (b"*", b"anything", True),
        (b"*", b"", False),  # the C loop never runs for an empty string
        (b"", b"", True),
        (b"", b"a", False),
        (b"h?llo", b"hello", True),
        (b"h?llo", b"hllo", False),
        (b"h*llo", b"heeeello", True),
        (b"h[ae]llo", b"hallo", True),
        (b"h[ae]llo", b"hillo", False),
        (b"h[^e]llo", b"hallo", True),
        (b"h[^e]llo", b"hello", False),
        (b"h[a-b]llo", b"hbllo", True),
        (b"h[b-a]llo", b"hbllo", True),  # reversed range ends are swapped
        (b"h\\*llo", b"h*llo", True),
        (b"h\\*llo", b"hallo", False),
        (b"a\\", b"a\\", True),  # a trailing backslash is literal
        (b"[abc", b"c", True),  # unterminated class runs to the end
        (b"[", b"x", False),
        (b"[^", b"x", True),
        (b"[]", b"x", False),
        (b"[a-]", b"_", True),  # range 'a'..']' (']' is 93, '_' is 95)
        (b"[\\]]", b"]", True),
        (b"user:*:name", b"user:42:name", True),
        (b"*a*a*a*a*a*a*a*a*b", b"a" * 60, False),
    ],
)
def test_known_cases(pattern: bytes, string: bytes, expected: bool) -> None:
    assert glob_match(pattern, string) is expected
    assert reference_match(pattern, string) is expected


def test_nocase() -> None:
    assert glob_match(b"HeLLo*", b"hello world", nocase=True)
    assert not glob_match(b"HeLLo*", b"hello world")
    assert glob_match(b"[A-Z]x", b"qX", nocase=True)
    # An escaped class member compares exactly even without case sensitivity.
    assert not glob_match(b"[\\A]", b"a", nocase=True)


def test_star_nesting_limit() -> None:
    pattern = b"a*" * 1001 + b"a"
    assert not glob_match(pattern, b"a" * 1002)
    assert glob_match(b"a*" * 1000 + b"a", b"a" * 1001)


def test_signed_char_ranges() -> None:
    # 'a'..'\xff' is the signed range -1..97: it holds 0x00-0x61 and 0xff, not 0x80-0xfe.
    match = glob_matcher(b"[a-\xff]")
    assert match(b"\x00") and match(b"a") and match(b"\xff")
    assert not match(b"\x80") and not match(b"b")


def test_matcher_is_cached_and_accepts_bytearray() -> None:
    assert glob_matcher(b"a*") is glob_matcher(bytearray(b"a*"))
    assert glob_matcher(b"a*")(bytearray(b"abc"))


_PATTERN_BYTES = st.sampled_from(list(b"ab*?[]^-\\A") + [0x80, 0xFF])
_STRING_BYTES = st.sampled_from(list(b"abAB-]\\*") + [0x80, 0xFF])


@settings(max_examples=3000, deadline=None, derandomize=True)
@given(
    pattern=st.lists(_PATTERN_BYTES, max_size=10).map(bytes),
    string=st.lists(_STRING_BYTES, max_size=8).map(bytes),
    nocase=st.booleans(),
)
@example(pattern=b"[a-", string=b"-", nocase=False)
@example(pattern=b"[\\", string=b"\\", nocase=False)
@example(pattern=b"*[", string=b"a", nocase=False)
def test_matches_reference(pattern: bytes, string: bytes, nocase: bool) -> None:
    assert glob_match(pattern, string, nocase) == reference_match(pattern, string, nocase)
