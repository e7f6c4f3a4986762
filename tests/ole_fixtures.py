"""Builders for OLE equation objects in tests: MTEF v3/v5 records and a minimal CFB writer.

olefile only reads compound files, so :func:`cfb` writes one: a 512-byte-sector (version 3)
compound file with one FAT sector, one directory sector and its streams in regular sectors.
Streams are padded to the 4,096-byte mini-stream cutoff so no mini stream is needed (an
MTEF reader stops at the equation's closing END; Word's own streams carry trailing bytes
too). :func:`equation_object` wraps MTEF bytes like Word's ``oleObjectN.bin``: the 28-byte
``Equation Native`` header, then MTEF.

MTEF v3 packs a record's options into the high nibble of its tag byte; v5 gives them a byte
of their own and opens with font, encoding and preference records (built here the way
MathType 7 writes them).
"""
from __future__ import annotations

import struct
from typing import Dict

_SECTOR = 512
_FREE, _END, _FATSECT, _NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF

# typefaces
TEXT, FUNCTION, VARIABLE, LCGREEK, UCGREEK, SYMBOL, VECTOR, NUMBER, MTEXTRA, EXPAND, SPACE = (
    1, 2, 3, 4, 5, 6, 7, 8, 11, 22, 24)


def _dir_entry(name: str, kind: int, start: int, size: int, right: int = _NOSTREAM,
               child: int = _NOSTREAM) -> bytes:
    raw = name.encode("utf-16-le") + b"\0\0"
    return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", _NOSTREAM, right, child) + b"\0" * 16 + b"\0" * 4 + b"\0" * 16
            + struct.pack("<IQ", start, size))


def cfb(streams: Dict[str, bytes]) -> bytes:
    """A compound file holding ``streams`` (name -> bytes) in its root storage."""
    if len(streams) > 3:
        raise ValueError("one directory sector: at most 3 streams")
    data_sectors = []
    entries = []
    next_sector = 2  # 0: FAT, 1: directory
    fat = [_FATSECT, _END]
    names = list(streams)
    for i, name in enumerate(names):
        body = streams[name].ljust(4096, b"\0")
        n = -(-len(body) // _SECTOR)
        fat.extend(list(range(next_sector + 1, next_sector + n)) + [_END])
        entries.append(_dir_entry(name, 2, next_sector, len(body), right=i + 2 if i + 1 < len(names) else _NOSTREAM))
        data_sectors.append(body.ljust(n * _SECTOR, b"\0"))
        next_sector += n
    if len(fat) > _SECTOR // 4:
        raise ValueError("one FAT sector: streams too large")
    root = _dir_entry("Root Entry", 5, _END, 0, child=1 if names else _NOSTREAM)
    directory = root + b"".join(entries)
    directory = directory.ljust(_SECTOR, b"\0")
    # empty directory slots: type 0, but siblings/child must read as NOSTREAM
    slots = [directory[i:i + 128] for i in range(0, _SECTOR, 128)]
    for i in range(1 + len(entries), 4):
        slots[i] = b"\0" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack("<III", _NOSTREAM, _NOSTREAM, _NOSTREAM) \
            + b"\0" * 48
    directory = b"".join(slots)
    fat_sector = b"".join(struct.pack("<I", v) for v in fat).ljust(_SECTOR, b"\xff")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
              + b"\0" * 6 + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, _END, 0, _END, 0)
              + struct.pack("<I", 0) + b"\xff" * (109 * 4 - 4))
    assert len(header) == _SECTOR
    return header + fat_sector + directory + b"".join(data_sectors)


def equation_object(mtef: bytes) -> bytes:
    """An ``Equation.3``-style OLE object around MTEF bytes."""
    native = struct.pack("<HIHI", 28, 0x00020000, 0, len(mtef)).ljust(28, b"\0") + mtef
    return cfb({"Equation Native": native, "\x01CompObj": b"\x01\x00\xfe\xff" + b"Equation.3\0"})


class _Records:
    """Record builders shared by both versions; :meth:`tag` is where they differ."""

    HEADER = b""
    VERSION = 0
    EMBELL_END = b""  # v3 closes each EMBELL record with an END of its own

    @classmethod
    def tag(cls, record: int, options: int = 0) -> bytes:
        if cls.VERSION == 3:
            return bytes([record | options << 4])
        return bytes([record, options])

    @classmethod
    def eq(cls, *objs: bytes) -> bytes:
        """A whole equation: header, a FULL size record, one line, END."""
        return cls.HEADER + b"\x0a" + cls.line(*objs) + b"\x00"

    @classmethod
    def line(cls, *objs: bytes) -> bytes:
        return cls.tag(1) + b"".join(objs) + b"\x00"

    @classmethod
    def null(cls) -> bytes:
        return cls.tag(1, 0x01)  # a LINE with no object list: an empty slot

    @classmethod
    def char(cls, text: str, face: int = VARIABLE, embell: tuple = ()) -> bytes:
        embell_bit = (0x02 if cls.VERSION == 3 else 0x01) if embell else 0
        out = b""
        for ch in text:
            out += cls.tag(2, embell_bit) + bytes([face + 128]) + struct.pack("<H", ord(ch))
            if embell:
                out += b"".join(cls.tag(6) + bytes([e]) + cls.EMBELL_END for e in embell) + b"\x00"
        return out

    @classmethod
    def tmpl(cls, selector: int, variation: int, *subs: bytes) -> bytes:
        if variation < 0x80 or cls.VERSION == 3:
            var = bytes([variation])
        else:  # v5: two bytes when the high bit of the first is set
            var = bytes([(variation & 0x7F) | 0x80, variation >> 8])
        return cls.tag(3) + bytes([selector]) + var + b"\x00" + b"".join(subs) + b"\x00"

    @classmethod
    def pile(cls, halign: int, *lines: bytes) -> bytes:
        return cls.tag(4) + bytes([halign, 1]) + b"".join(lines) + b"\x00"

    @classmethod
    def matrix(cls, rows: int, cols: int, *cells: bytes) -> bytes:
        parts = b"\0" * (((rows + 1) * 2 + 7) // 8 + ((cols + 1) * 2 + 7) // 8)
        return cls.tag(5) + bytes([1, 2, 2, rows, cols]) + parts + b"".join(cells) + b"\x00"


class V3(_Records):
    """MTEF v3 (Equation Editor 3.0): options in the high nibble of the tag byte."""

    VERSION = 3
    HEADER = bytes([3, 1, 1, 3, 10])
    EMBELL_END = b"\x00"


class V5(_Records):
    """MTEF v5 (MathType 4 and later): an options byte after the tag, font and preference records first."""

    VERSION = 5
    HEADER = (bytes([5, 1, 0, 7, 0]) + b"DSMT7\0" + b"\x01"
              + b"\x13WinAllBasicCodePages\0" + b"\x11\x05Times New Roman\0" + b"\x11\x03Symbol\0"
              # EQN_PREFS: options, 2 sizes (unit nibble, digits, 0xF), 1 space, 2 styles
              + b"\x12\x00" + b"\x02" + bytes([0x21, 0x2F, 0x45, 0x8F]) + b"\x01" + bytes([0x41, 0x5F])
              + b"\x02" + b"\x01\x00" + b"\x00")


V3.NULL, V5.NULL = V3.null(), V5.null()
