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


#: What each content type looks like to a user, and which source kinds read it.
LOOKS_LIKE = {"pdf": "a PDF", "zip": "a zip archive", "ole": "an OLE2 file (a Word 97-2003 .doc or similar)",
              "rtf": "an RTF document", "text": "a text file", "binary": "binary data", "empty": "an empty file"}
READ_BY = {"pdf": ("paper", "3gpp"), "zip": ("3gpp",), "ole": ("3gpp",), "rtf": ("3gpp",), "text": ("text", "code")}


def wrong_kind_detail(source_kind: str, wanted: str, looks: str, content: str = "") -> str:
    """One line for an input that is not what its source kind reads: what it looks like,
    and which kinds read such content (``content`` is a :func:`sniff` result)."""
    others = [k for k in READ_BY.get(content, ()) if k != source_kind]
    hint = f" (kind {' or '.join(others)} reads {'these' if content else 'such files'})" if others else ""
    return f"not {wanted}: looks like {looks}{hint}"


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
