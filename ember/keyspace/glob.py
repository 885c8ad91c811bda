"""Redis's glob-style pattern matching, compiled once per pattern.

KEYS, SCAN/HSCAN/SSCAN/ZSCAN MATCH, PSUBSCRIBE, CONFIG GET, ACL key patterns and COMMAND LIST
FILTERBY PATTERN all use Redis's `stringmatchlen`. Its rules are reproduced exactly, quirks
included: `?` is one byte, `[...]` classes take `^` negation, `a-z` ranges (ends in either order,
compared as *signed* chars), `\\x` escapes; an unterminated class runs to the end of the pattern; a
trailing lone `\\` is a literal backslash; with nocase only A-Z fold, and an escaped class member
still compares exactly. Two edge cases follow from the C loop: an empty string is matched only by
the empty pattern (so `*` alone does not match the empty key; callers that treat `*` as "match
everything", as KEYS and SCAN do, special-case it), and a pattern with more than 1000 non-trailing
`*` groups matches nothing (Redis's guard against abusive patterns).

A pattern is translated to a regex over bytes. Each run between stars is a fixed-width sequence,
so the earliest occurrence of each middle run is always the best choice; atomic groups commit to
it, which keeps matching linear per run like Redis's skip-longer-matches pruning (no
catastrophic backtracking on patterns such as `*a*a*a*a*b`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

Matcher = Callable[[bytes], bool]

_MAX_STAR_NESTING = 1000  # Redis returns "no match" beyond this recursion depth
_MAX_CACHED_PATTERN = 512  # longer patterns are compiled per call so the cache stays small
_ALL_BYTES = frozenset(range(256))


def glob_matcher(pattern: bytes, nocase: bool = False) -> Matcher:
    """A predicate telling whether a string matches `pattern` under Redis's glob rules."""
    pattern = bytes(pattern)
    if len(pattern) > _MAX_CACHED_PATTERN:
        return _compile(pattern, nocase)
    return _compile_cached(pattern, nocase)


def glob_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """One-off match; prefer glob_matcher() when testing many strings against one pattern."""
    return glob_matcher(pattern, nocase)(string)


def _compile(pattern: bytes, nocase: bool) -> Matcher:
    if not pattern:
        return _is_empty
    runs = _split_runs(pattern, nocase)
    stars = len(runs) - 1
    if stars - (not runs[-1]) > _MAX_STAR_NESTING:
        return _never
    fullmatch = re.compile(_runs_to_regex(runs), re.DOTALL).fullmatch

    def match(string: bytes) -> bool:
        return bool(string) and fullmatch(string) is not None

    return match


_compile_cached = lru_cache(maxsize=1024)(_compile)


def _is_empty(string: bytes) -> bool:
    return not string


def _never(string: bytes) -> bool:
    return False


# -- parsing --------------------------------------------------------------------------------------

def _split_runs(pattern: bytes, nocase: bool) -> list[list[frozenset[int]]]:
    """The pattern as star-separated runs; each run is a list of one-byte sets (what each
    position accepts). Consecutive stars collapse; a trailing star leaves an empty last run."""
    runs: list[list[frozenset[int]]] = [[]]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == 0x2A:  # '*'
            while i < n and pattern[i] == 0x2A:
                i += 1
            runs.append([])
            continue
        if ch == 0x3F:  # '?'
            accepted, i = _ALL_BYTES, i + 1
        elif ch == 0x5B:  # '['
            accepted, i = _parse_class(pattern, i + 1, nocase)
        elif ch == 0x5C and i + 1 < n:  # '\' escapes the next byte (a final '\' is literal)
            accepted, i = _literal(pattern[i + 1], nocase), i + 2
        else:
            accepted, i = _literal(ch, nocase), i + 1
        runs[-1].append(accepted)
    return runs


def _parse_class(pattern: bytes, i: int, nocase: bool) -> tuple[frozenset[int], int]:
    """The bytes a `[...]` class starting at pattern[i] (just after '[') accepts, and the index
    after it. Mirrors Redis's loop, including its handling of unterminated classes."""
    n = len(pattern)
    negate = i < n and pattern[i] == 0x5E  # '^'
    if negate:
        i += 1
    members: set[int] = set()
    while True:
        if i >= n:  # unterminated: the class swallowed the rest of the pattern
            break
        ch = pattern[i]
        if ch == 0x5C and n - i >= 2:  # escaped member: compared exactly, even with nocase
            i += 1
            members.add(pattern[i])
        elif ch == 0x5D:  # ']'
            i += 1
            break
        elif n - i >= 3 and pattern[i + 1] == 0x2D:  # 'a-z' (the end may be ']' or '\')
            members.update(_range_members(ch, pattern[i + 2], nocase))
            i += 2
        else:
            members.update(_literal(ch, nocase))
        i += 1
    accepted = frozenset(members)
    return (_ALL_BYTES - accepted if negate else accepted), i


def _signed(byte: int) -> int:
    """A byte as C's (signed) char, which is how Redis compares range ends."""
    return byte - 256 if byte >= 128 else byte


def _tolower(value: int) -> int:
    return value + 32 if 65 <= value <= 90 else value


def _literal(byte: int, nocase: bool) -> frozenset[int]:
    if nocase and (65 <= byte <= 90 or 97 <= byte <= 122):
        return frozenset((byte | 0x20, byte & ~0x20))
    return frozenset((byte,))


def _range_members(first: int, last: int, nocase: bool) -> set[int]:
    start, end = sorted((_signed(first), _signed(last)))
    if nocase:
        start, end = _tolower(start), _tolower(end)
    fold = _tolower if nocase else int
    return {b for b in range(256) if start <= fold(_signed(b)) <= end}


# -- regex assembly -------------------------------------------------------------------------------

def _runs_to_regex(runs: list[list[frozenset[int]]]) -> bytes:
    """S0 (?>.*?S1) ... (?>.*?Sk-1) .*Sk : first run anchored at the start, middle runs at their
    earliest occurrence (atomic, never revisited), last run anchored at the end."""
    parts = [_run_regex(runs[0])]
    for run in runs[1:-1]:
        parts.append(b"(?>.*?" + _run_regex(run) + b")")
    if len(runs) > 1:
        parts.append(b".*" + _run_regex(runs[-1]))
    return b"".join(parts)


def _run_regex(run: list[frozenset[int]]) -> bytes:
    return b"".join(_byte_set_regex(accepted) for accepted in run)


def _byte_set_regex(accepted: frozenset[int]) -> bytes:
    if not accepted:
        return b"(?!)"
    if len(accepted) == 256:
        return b"."
    if len(accepted) == 1:
        return b"\\x%02x" % next(iter(accepted))
    spans = []
    ordered = sorted(accepted)
    start = prev = ordered[0]
    for byte in ordered[1:] + [-2]:
        if byte != prev + 1:
            spans.append(b"\\x%02x" % start if start == prev else b"\\x%02x-\\x%02x" % (start, prev))
            start = byte
        prev = byte
    return b"[" + b"".join(spans) + b"]"
