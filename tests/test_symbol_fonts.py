"""Symbol-font positions -> Unicode (Symbol, Wingdings, MT Extra), as Word writes them."""
from __future__ import annotations

import re

from telecom_etl.extractors.threegpp.symbol_fonts import is_symbol_font, map_private_use, symbol_char


def test_symbol_encoding_covers_every_position():
    positions = list(range(0x20, 0x7F)) + [p for p in range(0xA0, 0xFF) if p != 0xF0]
    chars = [symbol_char(p, "Symbol") for p in positions]
    assert all(chars) and not any(re.match("[\ue000-\uf8ff]", c) for c in chars)
    # spot checks against the published encoding, both as position and as private-use code
    assert [symbol_char(c, "Symbol") for c in (0x61, 0xF061, 0x44, 0xA3, 0xB3, 0xB4, 0xE5, 0xF2, 0xD6, 0xC6)] == \
        ["α", "α", "Δ", "≤", "≥", "×", "∑", "∫", "√", "∅"]
    assert symbol_char(0xF8EE) == "⌈" and symbol_char(0xF8FB) == "⌋"  # Apple/Adobe bracket pieces


def test_other_fonts_and_font_names():
    assert symbol_char(0xF0FC, "Wingdings") == "✓" and symbol_char(0xF0E0, "Wingdings") == "→"
    assert symbol_char(0xF0A7, "Wingdings") == "▪"  # the square bullet of Word lists
    assert symbol_char(0x4C, "MT Extra") == "⋯"
    assert is_symbol_font("SymbolMT") and is_symbol_font("Wingdings 2") and is_symbol_font("MT Extra")
    assert not is_symbol_font("Segoe UI Symbol") and not is_symbol_font("Arial") and not is_symbol_font(None)


def test_private_use_text_is_mapped_and_unknown_positions_counted():
    assert map_private_use("roll-off \uf061\uf020= 0.22", "Symbol") == ("roll-off α = 0.22", 0)
    assert map_private_use("\uf0fc done", "Wingdings") == ("✓ done", 0)
    assert map_private_use("a\ue123b", "Symbol") == ("ab", 1)  # nothing known there: dropped, counted
