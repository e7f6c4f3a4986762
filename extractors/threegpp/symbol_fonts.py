"""Symbol-font characters -> the Unicode characters they show.

Word writes a character of a symbol font (Symbol, Wingdings, MT Extra, ...) either as a
``w:sym`` element (``w:font``, ``w:char`` = the font position, often as ``F0xx``) or as
text whose code points are the font positions moved to the private-use area
(U+F020-U+F0FF) in a run set in that font. Both come here. The tables follow the fonts'
published encodings (Adobe Symbol; the Unicode mapping of Wingdings; MT Extra), with a
few glyphs chosen for what they mean in specs (a Wingdings arrow is a plain arrow, its
bullets are bullets). Symbol's bracket pieces (used to draw floor/ceiling brackets) map
to the bracket they complete. Apple/Adobe's private-use Symbol code points (U+F8E5-U+F8FE,
the pieces of large brackets) map to the bracket too.
"""
from __future__ import annotations

import re
from typing import Optional

_SYMBOL = dict(zip(range(0x20, 0x7F), (
    " !∀#∃%&∋()∗+,−./0123456789:;<=>?"
    "≅ΑΒΧΔΕΦΓΗΙϑΚΛΜΝΟΠΘΡΣΤΥςΩΞΨΖ[∴]⊥_"
    "‾αβχδεφγηιϕκλμνοπθρστυϖωξψζ{|}∼")))
_SYMBOL.update(zip(range(0xA0, 0xFF), (
    "€ϒ′≤⁄∞ƒ♣♦♥♠↔←↑→↓°±″≥×∝∂•÷≠≡≈…⏐⎯↵"
    "ℵℑℜ℘⊗⊕∅∩∪⊃⊇⊄⊂⊆∈∉∠∇®©™∏√⋅¬∧∨⇔⇐⇑⇒⇓"
    "◊〈®©™∑⎛⎜⎝⌈⎢⌊⎧⎨⎩⎪\uf8ff〉∫⌠⎮⌡⎞⎟⎠⌉⎥⌋⎫⎬⎭")))
del _SYMBOL[0xF0]  # the Apple logo position: no character

_WINGDINGS = {
    0x20: " ", 0x21: "✏", 0x22: "✂", 0x23: "✁", 0x28: "☎", 0x29: "✆", 0x2A: "✉", 0x36: "⌛", 0x37: "⌨",
    0x3E: "✇", 0x3F: "✍", 0x41: "✌", 0x43: "👍", 0x44: "👎", 0x45: "☜", 0x46: "☞", 0x47: "☝", 0x48: "☟",
    0x4A: "☺", 0x4B: "😐", 0x4C: "☹", 0x4E: "☠", 0x51: "✈", 0x52: "☼", 0x54: "❄", 0x56: "✞", 0x58: "✠",
    0x59: "✡", 0x5A: "☪", 0x5B: "☯", 0x5E: "♈", 0x6C: "●", 0x6D: "❍", 0x6E: "■", 0x6F: "□", 0x70: "◻",
    0x71: "❑", 0x72: "❒", 0x73: "⬧", 0x74: "⧫", 0x75: "◆", 0x76: "❖", 0x77: "⬥", 0x78: "⌧", 0x7A: "⌘",
    0x80: "⓪", 0x8B: "⓿", 0x9E: "·", 0x9F: "•", 0xA0: "▪", 0xA1: "○", 0xA4: "◉", 0xA5: "◎", 0xA7: "▪",
    0xA8: "◻", 0xAA: "✦", 0xAB: "★", 0xAC: "✶", 0xAD: "✴", 0xAE: "✹", 0xAF: "✵", 0xB1: "⌖", 0xB2: "⟡",
    0xB5: "✪", 0xB6: "✰", 0xD5: "⌫", 0xD6: "⌦", 0xD8: "➢", 0xDF: "←", 0xE0: "→", 0xE1: "↑", 0xE2: "↓",
    0xE7: "←", 0xE8: "→", 0xE9: "↑", 0xEA: "↓", 0xEF: "⇦", 0xF0: "⇨", 0xF1: "⇧", 0xF2: "⇩", 0xF3: "⬄",
    0xF4: "⇳", 0xFB: "✗", 0xFC: "✓", 0xFD: "☒", 0xFE: "☑",
}
_WINGDINGS.update({0x81 + i: chr(0x2460 + i) for i in range(10)})  # ① .. ⑩
_WINGDINGS.update({0x8C + i: chr(0x2776 + i) for i in range(10)})  # ❶ .. ❿

_WINGDINGS_2 = {0x20: " ", 0x4F: "✗", 0x50: "✓", 0x51: "☒", 0x52: "☑", 0x53: "☒", 0x54: "☒", 0x97: "•",
                0x98: "●", 0x99: "•", 0xA3: "□", 0xA4: "▪", 0xA5: "■", 0xF8: "※"}
_WINGDINGS_3 = {0x20: " ", 0x5B: "◀", 0x5C: "▶", 0x5D: "▲", 0x5E: "▼", 0x70: "△", 0x71: "▽", 0x75: "▶",
                0x76: "◀", 0x77: "▲", 0x78: "▼", 0xC6: "→", 0xC7: "←", 0xC8: "↑", 0xC9: "↓"}

_MT_EXTRA = {0x20: " ", 0x21: "⃛", 0x22: "⃜", 0x23: "⏜", 0x24: "⏝", 0x25: "〈", 0x26: "〉", 0x27: "⎴",
             0x28: "⎵", 0x29: "⃡", 0x2A: "↼", 0x2B: "⇀", 0x2C: "↽", 0x2D: "⇁", 0x3B: "⋰", 0x3C: "◃",
             0x3E: "▹", 0x3F: "↿", 0x40: "⇂", 0x41: "↾", 0x42: "⇃", 0x43: "∐", 0x4A: "⟨", 0x4B: "⟩",
             0x4C: "⋯", 0x4D: "⋮", 0x4E: "⋱", 0x4F: "⋰", 0x54: "¨", 0x5C: "ħ", 0x5E: "ħ", 0x60: "ℓ",
             0x61: "↦", 0x62: "↤", 0x64: "∓", 0x65: "⊕", 0x66: "⊗", 0x68: "ℏ", 0x6C: "ℓ", 0x70: "℘",
             0x71: "ℑ", 0x72: "ℜ", 0x75: "⊂", 0x76: "⊃", 0x77: "⊄", 0x78: "⊅", 0x7E: "⌢", 0x7F: "⌣"}

# Apple/Adobe private-use Symbol glyphs: pieces of tall brackets and extenders
_SYMBOL_PUA = {0xF8E5: "", 0xF8E6: "|", 0xF8E7: "―", 0xF8E8: "®", 0xF8E9: "©", 0xF8EA: "™", 0xF8EB: "(",
               0xF8EC: "(", 0xF8ED: "(", 0xF8EE: "⌈", 0xF8EF: "[", 0xF8F0: "⌊", 0xF8F1: "{", 0xF8F2: "{",
               0xF8F3: "{", 0xF8F4: "|", 0xF8F5: "∫", 0xF8F6: ")", 0xF8F7: ")", 0xF8F8: ")", 0xF8F9: "⌉",
               0xF8FA: "]", 0xF8FB: "⌋", 0xF8FC: "}", 0xF8FD: "}", 0xF8FE: "}"}

_TABLES = (("wingdings 3", _WINGDINGS_3), ("wingdings 2", _WINGDINGS_2), ("wingdings", _WINGDINGS),
           ("mt extra", _MT_EXTRA), ("symbol", _SYMBOL))

PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def _table(font: str) -> Optional[dict]:
    # by name, not substring: "Segoe UI Symbol" is a Unicode font, "SymbolMT" is Symbol
    low = " ".join(font.lower().replace("-", " ").split())
    for name, table in _TABLES:
        if low == name or low.startswith(name + " ") or low == name.replace(" ", "") \
                or (name == "symbol" and low in ("symbolmt", "symbol mt", "symbolps")):
            return table
    return None


def symbol_char(code: int, font: str = "") -> str:
    """The character shown by font position ``code`` (``0x61`` or ``0xF061``) of ``font``;
    positions of an unknown font are read as Symbol (the font behind most such characters in
    specs). ``""`` when the position shows nothing known."""
    if code in _SYMBOL_PUA:
        return _SYMBOL_PUA[code]
    if 0xF000 <= code <= 0xF0FF:
        code -= 0xF000
    table = _table(font) if font else None
    if table is None:
        table = _SYMBOL
    return table.get(code, "")


def is_symbol_font(font: Optional[str]) -> bool:
    return bool(font) and _table(font) is not None


def map_private_use(text: str, font: Optional[str]) -> "tuple[str, int]":
    """(text with its private-use characters replaced, number that stayed unknown and were dropped)."""
    unknown = 0
    out = []
    for ch in text:
        code = ord(ch)
        if 0xE000 <= code <= 0xF8FF:
            mapped = symbol_char(code, font or "")
            if not mapped or PRIVATE_USE.match(mapped):
                unknown += 1
                continue
            out.append(mapped)
        else:
            out.append(ch)
    return "".join(out), unknown
