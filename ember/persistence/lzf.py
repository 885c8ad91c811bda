"""LZF, the compression of RDB strings (Redis's lzf_c.c / lzf_d.c format, no framing).

A compressed block is a sequence of
- literal runs: a control byte 000LLLLL, then L+1 bytes copied as they are;
- back references: a control byte LLLOOOOO (LLL != 0), [one more length byte when LLL == 7],
  one more offset byte: copy (length + 2) bytes starting (offset + 1) bytes back in the output.
Redis stores the compressed and the original length beside the block, so decompression knows
exactly how much output to expect.

`compress` returns None when the block would not be smaller than len - 4 (Redis then stores the
string as it is). The C implementation of python-neo-lzf / python-lzf (module `lzf`, ~0.5 us per
small string) is used when installed; the pure-Python fallback writes valid (not identical)
LZF blocks and decodes any block, bounds-checked.
"""

from __future__ import annotations

MAX_LITERAL = 32
MAX_OFFSET = 8192
MAX_REF = 264  # 7 + 255 + 2


class LZFError(ValueError):
    """The block is not valid LZF or does not decompress to the announced length."""


def _native():
    try:
        import lzf as native  # python-neo-lzf or python-lzf: compress(data, maxlen), decompress(data, n)
    except ImportError:
        return None
    if not hasattr(native, "compress") or not hasattr(native, "decompress"):
        return None  # another package called `lzf` (e.g. a streaming wrapper with another API)
    return native


_native_lzf = _native()
BACKEND = "lzf" if _native_lzf is not None else "python"


def compress(data: bytes | bytearray) -> bytes | None:
    """An LZF block of at most len(data) - 4 bytes, or None if data does not shrink that much."""
    limit = len(data) - 4
    if limit <= 0:
        return None
    if _native_lzf is not None:
        return _native_lzf.compress(bytes(data), limit)
    block = compress_python(bytes(data))
    return block if len(block) <= limit else None


def decompress(block: bytes, length: int) -> bytes:
    """The `length` bytes that block decompresses to; LZFError if it does not."""
    if length == 0:
        if block:
            raise LZFError("data after the end of an empty LZF block")
        return b""
    if _native_lzf is not None:
        try:
            result = _native_lzf.decompress(block, length)
        except (ValueError, SystemError) as err:
            raise LZFError(f"invalid LZF block: {err}") from None
        if result is None or len(result) != length:
            raise LZFError("LZF block does not decompress to the announced length")
        return result
    return decompress_python(block, length)


def decompress_python(block: bytes, length: int) -> bytes:
    out = bytearray()
    pos, end = 0, len(block)
    while pos < end:
        ctrl = block[pos]
        pos += 1
        if ctrl < 32:
            run = ctrl + 1
            if pos + run > end:
                raise LZFError("LZF literal run past the end of the block")
            out += block[pos:pos + run]
            pos += run
        else:
            ref_length = ctrl >> 5
            if ref_length == 7:
                if pos >= end:
                    raise LZFError("LZF back reference cut short")
                ref_length += block[pos]
                pos += 1
            if pos >= end:
                raise LZFError("LZF back reference cut short")
            back = ((ctrl & 0x1F) << 8) + block[pos] + 1
            pos += 1
            start = len(out) - back
            if start < 0:
                raise LZFError("LZF back reference before the start of the data")
            ref_length += 2
            if back >= ref_length:
                out += out[start:start + ref_length]
            else:  # overlapping copy: repeats the last `back` bytes
                for index in range(start, start + ref_length):
                    out.append(out[index])
        if len(out) > length:
            raise LZFError("LZF block longer than announced")
    if len(out) != length:
        raise LZFError("LZF block shorter than announced")
    return bytes(out)


def compress_python(data: bytes) -> bytes:
    """Greedy LZF: the last position of each 3-byte sequence, matches of 3..264 bytes within
    8 KiB back, literals in runs of up to 32."""
    out = bytearray()
    literals = bytearray()
    last_seen: dict[bytes, int] = {}
    pos, end = 0, len(data)

    def flush_literals() -> None:
        for start in range(0, len(literals), MAX_LITERAL):
            run = literals[start:start + MAX_LITERAL]
            out.append(len(run) - 1)
            out.extend(run)
        literals.clear()

    while pos < end:
        match_length = 0
        if pos + 3 <= end:
            key = data[pos:pos + 3]
            candidate = last_seen.get(key)
            last_seen[key] = pos
            if candidate is not None and pos - candidate <= MAX_OFFSET:
                limit = min(MAX_REF, end - pos)
                match_length = 3
                while match_length < limit and data[candidate + match_length] == data[pos + match_length]:
                    match_length += 1
        if match_length < 3:
            literals.append(data[pos])
            pos += 1
            continue
        flush_literals()
        offset = pos - candidate - 1
        stored = match_length - 2
        if stored < 7:
            out.append((stored << 5) | (offset >> 8))
        else:
            out.append((7 << 5) | (offset >> 8))
            out.append(stored - 7)
        out.append(offset & 0xFF)
        pos += match_length
    flush_literals()
    return bytes(out)
