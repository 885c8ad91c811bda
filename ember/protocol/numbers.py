"""Number parsing with C's rules, for arguments Redis reads with strtod/strtold (scores,
timeouts): hex floats, inf/nan, leading spaces, and ERANGE detection."""

from __future__ import annotations

import math
import re

from .errors import CommandError

C_SPACES = b" \t\n\v\f\r"
_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*[+-]?(?:"
    rb"(?P<hex>0x(?:[0-9a-f]+(?:\.[0-9a-f]*)?|\.[0-9a-f]+)(?:p[+-]?[0-9]+)?)"
    rb"|(?P<special>inf(?:inity)?|nan(?:\([0-9a-z_]*\))?)"
    rb"|(?P<dec>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?))",
    re.IGNORECASE,
)


def c_strtod(raw: bytes) -> tuple[float, int, bool]:
    """(value, characters consumed, out of range) for C's strtod on raw (0 consumed: no number).

    Out of range is strtod's ERANGE: overflow to +-inf, or a non-zero number that rounds to 0.
    """
    match = _STRTOD.match(raw)
    if match is None:
        return 0.0, 0, False
    text = match.group(0).lstrip(C_SPACES)
    negative = text[:1] == b"-"
    if match.group("hex"):
        try:
            value = float.fromhex(text.decode())
        except OverflowError:
            return (-math.inf if negative else math.inf), match.end(), True
        mantissa = match.group("hex").lower().split(b"p")[0][2:]
    else:
        value = float(text)
        mantissa = (match.group("dec") or b"").lower().split(b"e")[0]
        if match.group("special"):
            return value, match.end(), False
    out_of_range = math.isinf(value) or (value == 0 and mantissa.strip(b"0.") != b"")
    return value, match.end(), out_of_range


def parse_int(raw: bytes, error: str = "ERR value is not an integer or out of range") -> int:
    """Parse a signed 64-bit integer the way Redis's string2ll does (no spaces, no '+', no '0x')."""
    if len(raw) <= 20:
        try:
            value = int(raw)
        except ValueError:
            raise CommandError(error) from None
        # int() also takes '+', spaces, '_' and leading zeros; string2ll only the canonical form
        # ("0" is fine, "-0" is not), which is exactly what printing the value gives back.
        if b"%d" % value == raw and -(2**63) <= value < 2**63:
            return value
    raise CommandError(error)


def parse_float(raw: bytes, error: str = "ERR value is not a valid float") -> float:
    """Parse a double as Redis's strtod-based helpers do: 'inf' allowed, NaN and spaces rejected."""
    text = raw.decode("latin-1")
    if not text or text != text.strip() or len(text) > 5000:
        raise CommandError(error)
    try:
        value = float(text)
    except ValueError:
        raise CommandError(error) from None
    if value != value or "_" in text:
        raise CommandError(error)
    return value
