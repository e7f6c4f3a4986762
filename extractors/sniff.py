"""What a file really is, from its first bytes (an extension is not a type)."""
from __future__ import annotations

from typing import Optional

MAGIC = (
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # empty zip
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),  # Word 97 .doc (and other OLE2 files)
    (b"{\\rtf", "rtf"),
)


def sniff(head: bytes) -> str:
    """'pdf', 'zip', 'ole', 'rtf', 'text', 'binary' or 'empty' for the first bytes of a file."""
    if not head:
        return "empty"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for magic, kind in MAGIC:
        if head.startswith(magic) or (kind == "pdf" and stripped.startswith(magic)):
            return kind
    return "binary" if looks_binary(head) else "text"


def looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        # UTF-16 text has NULs; accept it only with a BOM
        return not sample.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not sample:
        return False
    control = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13, 27))
    return control / len(sample) > 0.10


def decode_text(data: bytes) -> Optional[str]:
    """Text of ``data`` (UTF-8, UTF-16 with BOM, else Latin-1 when it is clearly text), or None."""
    if looks_binary(data):
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        return text
