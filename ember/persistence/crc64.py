"""CRC-64/Jones, the checksum of RDB files and DUMP payloads (Redis's crc64.c).

Parameters: polynomial 0xad93d23594c935a9, reflected input and output, initial value 0, no final
xor; crc64(b"123456789") == 0xe9c6d914c4b8d9ca. Redis continues a checksum across calls
(`crc64(crc, data)`), and so does `crc64(data, crc)` here, which is how a file is checksummed
while it is written in chunks.

The work is done by crcmod's C extension when it is installed (hundreds of MB/s); otherwise a
table-driven pure-Python version (slicing by 8 bytes) gives the same numbers, slower.
"""

from __future__ import annotations

POLY_REFLECTED = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 with its bits reversed
_MASK = (1 << 64) - 1


def _make_tables() -> list[list[int]]:
    """Eight 256-entry tables: table[k][b] is the CRC of byte b followed by k zero bytes."""
    first = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ POLY_REFLECTED if crc & 1 else crc >> 1
        first.append(crc)
    tables = [first]
    for _ in range(7):
        previous = tables[-1]
        tables.append([(value >> 8) ^ first[value & 0xFF] for value in previous])
    return tables


_TABLES: list[list[int]] | None = None


def crc64_python(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """The pure-Python CRC: eight bytes per step (slicing-by-8), then byte by byte."""
    global _TABLES
    if _TABLES is None:
        _TABLES = _make_tables()
    t0, t1, t2, t3, t4, t5, t6, t7 = _TABLES
    view = memoryview(data).cast("B")
    length = len(view)
    whole = length - length % 8
    from_bytes = int.from_bytes
    for start in range(0, whole, 8):
        crc ^= from_bytes(view[start:start + 8], "little")
        crc = (t7[crc & 0xFF] ^ t6[(crc >> 8) & 0xFF] ^ t5[(crc >> 16) & 0xFF] ^ t4[(crc >> 24) & 0xFF]
               ^ t3[(crc >> 32) & 0xFF] ^ t2[(crc >> 40) & 0xFF] ^ t1[(crc >> 48) & 0xFF] ^ t0[crc >> 56])
    for byte in view[whole:]:
        crc = t0[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc & _MASK


def _native():
    try:
        import crcmod  # type: ignore[import-untyped]
        import crcmod._crcfunext  # noqa: F401  (only the C extension is worth preferring)
    except ImportError:
        return None
    # crcmod names the polynomial with its x^64 term; rev=True is the reflected algorithm.
    return crcmod.mkCrcFun(0x1AD93D23594C935A9, initCrc=0, rev=True, xorOut=0)


_native_crc = _native()


def crc64(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-64/Jones of data, continuing from a previous crc (0 to start)."""
    if _native_crc is not None:
        return _native_crc(bytes(data) if isinstance(data, memoryview) else data, crc)
    return crc64_python(data, crc)


BACKEND = "crcmod" if _native_crc is not None else "python"
