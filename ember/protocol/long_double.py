"""C `long double` (x87 80-bit extended precision) emulation, for what Redis reads with strtold
and computes in long double: INCRBYFLOAT and HINCRBYFLOAT, and blocking commands' timeouts.

Redis parses with strtold, adds in long double and prints with "%.17Lf" minus trailing zeros. A
double would print 10.5+0.1 as 10.59999999999999964, so the exact semantics are kept: values are
Fractions rounded to a 64-bit significand (ties to even) with the 80-bit exponent range.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .errors import NOT_FLOAT, CommandError

ZERO = Fraction(0)
INF = float("inf")
_TINY = Fraction(1, 2**20000)  # stands for any value too small to round to anything but zero
_LD_MIN_EXPONENT = -16382  # binary exponent of the smallest normal value; subnormals below it
_LD_OVERFLOW_BITS = 16384  # magnitudes of 2**16384 and more are infinite
_LD_MAX_TEXT = 5 * 1024  # MAX_LONG_DOUBLE_CHARS: longer inputs are rejected
_HUMAN_DECIMALS = 17
_STR_DIGITS_CHUNK = 4000  # Python refuses int<->str conversions over 4300 digits in one go

_DECIMAL_FLOAT = re.compile(rb"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?")
_HEX_FLOAT = re.compile(
    rb"([+-]?)0[xX](?:([0-9a-fA-F]+)(?:\.([0-9a-fA-F]*))?|\.([0-9a-fA-F]+))(?:[pP]([+-]?[0-9]+))?")
_INFINITY = re.compile(rb"[+-]?inf(?:inity)?", re.IGNORECASE)


def parse_long_double(raw: bytes, error: str = NOT_FLOAT) -> Fraction | float:
    """Redis's string2ld: the whole text must be a strtold number (decimal, hex or inf; no
    spaces, no NaN); results that overflow or underflow to zero are rejected with `error`."""
    if not raw or len(raw) >= _LD_MAX_TEXT:
        raise CommandError(error)
    if _INFINITY.fullmatch(raw):
        return -INF if raw[:1] == b"-" else INF
    found = _DECIMAL_FLOAT.fullmatch(raw)
    exact = _decimal_fraction(found) if found else None
    if found is None:
        found = _HEX_FLOAT.fullmatch(raw)
        if found is None:
            raise CommandError(error)
        exact = _hex_fraction(found)
    value = round_long_double(exact) if exact is not None else INF
    if value == INF or (value == 0 and exact != 0):  # ERANGE: overflow, or underflow to zero
        raise CommandError(error)
    return -value if found.group(1) == b"-" else value


def _exponent(text: bytes | None) -> int:
    """The exponent field's value; absurdly long ones are clamped (out of range either way)."""
    if not text:
        return 0
    digits = text.lstrip(b"+-").lstrip(b"0")
    value = int(digits or b"0") if len(digits) <= 7 else 10**8
    return -value if text[:1] == b"-" else value


def _decimal_fraction(found: re.Match[bytes]) -> Fraction | None:
    """|value| of a decimal match (the caller applies the sign); None when it surely overflows a
    long double, _TINY when it surely underflows."""
    fraction_digits = found.group(3) or found.group(4) or b""
    digits = ((found.group(2) or b"") + fraction_digits).lstrip(b"0")
    if not digits:
        return ZERO
    exponent = _exponent(found.group(5)) - len(fraction_digits)
    magnitude = len(digits) + exponent  # 10**(magnitude-1) <= value < 10**magnitude
    if magnitude > 4940:
        return None
    if magnitude < -4960:
        return _TINY
    mantissa = _digits_to_int(digits)
    return Fraction(mantissa * 10**exponent) if exponent >= 0 else Fraction(mantissa, 10**-exponent)


def _hex_fraction(found: re.Match[bytes]) -> Fraction | None:
    """|value| of a hexadecimal float match, as _decimal_fraction."""
    fraction_digits = found.group(3) or found.group(4) or b""
    mantissa = int((found.group(2) or b"") + fraction_digits, 16)
    if not mantissa:
        return ZERO
    exponent = _exponent(found.group(5)) - 4 * len(fraction_digits)
    top_bit = mantissa.bit_length() + exponent
    if top_bit > _LD_OVERFLOW_BITS + 16:
        return None
    if top_bit < -16500:
        return _TINY
    return Fraction(mantissa << exponent) if exponent >= 0 else Fraction(mantissa, 1 << -exponent)


def round_long_double(exact: Fraction) -> Fraction | float:
    """The long double nearest to a non-negative exact value (ties to even), or inf."""
    if not exact:
        return ZERO
    num, den = exact.numerator, exact.denominator
    sign = -1 if num < 0 else 1
    num = abs(num)
    exponent = num.bit_length() - den.bit_length()  # floor(log2(value)) or one more
    if (num << max(-exponent, 0)) < (den << max(exponent, 0)):
        exponent -= 1
    shift = max(exponent, _LD_MIN_EXPONENT) - 63  # value of the significand's last bit
    if shift >= 0:
        quotient, remainder = divmod(num, den << shift)
        twice, divisor = remainder * 2, den << shift
    else:
        quotient, remainder = divmod(num << -shift, den)
        twice, divisor = remainder * 2, den
    if twice > divisor or (twice == divisor and quotient & 1):
        quotient += 1
    if quotient.bit_length() + shift > _LD_OVERFLOW_BITS:
        return INF
    rounded = Fraction(quotient << shift) if shift >= 0 else Fraction(quotient, 1 << -shift)
    return rounded * sign


def add_long_doubles(a: Fraction | float, b: Fraction | float) -> Fraction:
    if a.__class__ is float or b.__class__ is float:  # an infinity makes inf or NaN
        raise CommandError("ERR increment would produce NaN or Infinity")
    total = round_long_double(a + b)
    if total == INF:
        raise CommandError("ERR increment would produce NaN or Infinity")
    return total


def format_long_double(value: Fraction) -> bytes:
    """printf("%.17Lf") (exact decimal expansion, ties to even) without trailing zeros; "-0" is
    printed "0", as Redis's ld2string in human mode does."""
    scale = 10**_HUMAN_DECIMALS
    quotient, remainder = divmod(abs(value.numerator) * scale, value.denominator)
    if remainder * 2 > value.denominator or (remainder * 2 == value.denominator and quotient & 1):
        quotient += 1
    whole, decimals = divmod(quotient, scale)
    text = _int_to_digits(whole)
    fraction = b"%017d" % decimals
    fraction = fraction.rstrip(b"0")
    if fraction:
        text += b"." + fraction
    if value < 0 and text != b"0":
        text = b"-" + text
    return text


def _digits_to_int(digits: bytes) -> int:
    value = 0
    for start in range(0, len(digits), _STR_DIGITS_CHUNK):
        chunk = digits[start:start + _STR_DIGITS_CHUNK]
        value = value * 10 ** len(chunk) + int(chunk)
    return value


def _int_to_digits(value: int) -> bytes:
    chunk_scale = 10**_STR_DIGITS_CHUNK
    if value < chunk_scale:
        return b"%d" % value
    high, low = divmod(value, chunk_scale)
    return _int_to_digits(high) + (b"%d" % low).zfill(_STR_DIGITS_CHUNK)
