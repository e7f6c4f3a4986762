"""OLE equation objects (Equation Editor 3 ``Equation.3``, MathType ``Equation.DSMT4``) -> LaTeX.

An equation object in a ``.docx`` is an OLE compound file under ``word/embeddings/``; its
``Equation Native`` stream is a 28-byte header followed by MTEF, the binary equation
format Design Science published (MTEF v3 for Equation Editor 3.0, v5 for MathType 4 and
later). MTEF is a tree of records: LINE (a slot: a list of objects), CHAR (a character in
a typeface: variable, function, text, Greek, symbol, vector, number...), TMPL (a template
with a selector and variation: fences, radicals, fractions, scripts, big operators,
limits, bars, arrows, braces, boxes; its slots are LINEs, its fence/operator glyphs
CHARs), PILE (lines stacked), MATRIX (cells) and EMBELL (a dot, prime, hat, bar... on a
character), plus size, font and preference records that only affect layout.

:func:`ole_to_latex` reads one object (with ``olefile``), :func:`mtef_to_latex` one MTEF
stream. What cannot be converted raises :class:`EquationError` with a short ``reason``
(``corrupt_ole``, ``not_equation``, ``unknown_mtef_version``, ``unknown_mtef_record``,
``corrupt_mtef``), which the Word reader counts and shows as a placeholder. No Beam, no
state: a pure function of the bytes.
"""
from __future__ import annotations

import hashlib
import io
import struct
from typing import List, Optional, Tuple

from telecom_etl.extractors.threegpp.omml import escape_math, escape_text
from telecom_etl.extractors.threegpp.symbol_fonts import symbol_char

__all__ = ["EquationError", "ole_to_latex", "mtef_to_latex", "parse_mtef", "REASONS"]

REASONS = ("corrupt_ole", "not_equation", "unknown_mtef_version", "unknown_mtef_record", "corrupt_mtef",
           "missing_part")
_HEADER = 28  # EQNOLEFILEHDR before the MTEF bytes in "Equation Native"


class EquationError(ValueError):
    """An OLE object or MTEF stream that cannot be converted; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# -- tree ------------------------------------------------------------------
# Nodes are tuples, cheap to build (TS 38.212 has ~1,900 objects):
#   ("line", [objects]) | ("line", None) for a null (empty placeholder) slot
#   ("char", typeface, code, [embellishment types])
#   ("tmpl", selector, variation, [subobjects])      selectors normalised to MTEF v5 numbering
#   ("pile", halign, [lines])
#   ("matrix", rows, cols, [cells])

# MTEF v3 (Equation Editor 3) template selectors -> (v5 selector, v5 variation or None to keep).
# v3 spends a selector per variant where v5 uses variation bits.
_V3_TMPL = {
    0: (0, None), 1: (1, None), 2: (2, None), 3: (3, None), 4: (4, None), 5: (5, None),
    6: (6, 3), 7: (7, 3),
    8: (9, 0x22), 9: (9, 0x13), 10: (9, 0x23), 11: (9, 0x12), 12: (9, 0x30),  # [[, ]], ][, [), (]
    13: (10, None), 14: (11, None),
    16: (12, None), 17: (13, None),
    18: (14, 0x14), 19: (14, 0x24), 20: (14, 0x34),  # left, right, left-right arrow with a top slot
    21: (15, "int1"), 22: (15, "int2"), 23: (15, "int3"),
    24: (15, "sint1"), 25: (15, "sint2"), 26: (15, "sint3"),
    27: (24, 1), 28: (24, 0),
    29: (16, "sum"), 30: (16, "int"), 31: (17, "sum"), 32: (17, "int"), 33: (18, "sum"), 34: (18, "int"),
    35: (19, "sum"), 36: (19, "int"), 37: (20, "sum"), 38: (20, "int"),
    39: (23, "lim"), 40: (26, 1), 41: (11, "slash"), 42: (21, "bigint"), 43: (22, "bigsum"),
    44: (29, "pre"), 45: (30, None), 48: (37, None),  # 46, 47: vectors, mapped in the reader
}
_V5_WITH_OPTIONS = frozenset({1, 2, 3, 4, 5, 6, 16, 18})  # the other records have no options byte
_V3_SCRIPT = {0: 28, 1: 27, 2: 29}  # selector 15: variation 0 sup, 1 sub, 2 both


class _Reader:
    __slots__ = ("data", "pos", "version")

    def __init__(self, data: bytes, pos: int, version: int):
        self.data, self.pos, self.version = data, pos, version

    def byte(self) -> int:
        try:
            value = self.data[self.pos]
        except IndexError:
            raise EquationError("corrupt_mtef", "stream ends inside a record") from None
        self.pos += 1
        return value

    def word(self) -> int:
        if self.pos + 2 > len(self.data):
            raise EquationError("corrupt_mtef", "stream ends inside a record")
        value = self.data[self.pos] | (self.data[self.pos + 1] << 8)
        self.pos += 2
        return value

    def skip(self, n: int) -> None:
        self.pos += n
        if self.pos > len(self.data):
            raise EquationError("corrupt_mtef", "stream ends inside a record")

    def cstring(self) -> None:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise EquationError("corrupt_mtef", "unterminated name")
        self.pos = end + 1

    def uint(self) -> int:  # MTEF v5 unsigned integer: one byte, or 0xFF then 16 bits
        value = self.byte()
        return self.word() if value == 0xFF else value

    def nudge(self) -> None:
        dx, dy = self.byte(), self.byte()
        if dx == 128 and dy == 128:
            self.skip(4)

    # -- records ----------------------------------------------------------
    def tag(self) -> Tuple[int, int]:
        """(record type, options): v3 packs options in the high nibble, v5 gives them a byte."""
        value = self.byte()
        if self.version == 3:
            return value & 0x0F, value >> 4
        if value >= 100:  # a FUTURE record: skip it whole
            self.skip(self.word())
            return -1, 0
        if value in _V5_WITH_OPTIONS:
            return value, self.byte()
        if value > 19:
            raise EquationError("unknown_mtef_record", f"record type {value} at byte {self.pos - 1}")
        return value, 0

    def objects(self, depth: int = 0) -> list:
        """Records up to (and consuming) the END that closes this list."""
        if depth > 200:
            raise EquationError("corrupt_mtef", "records nested deeper than 200 levels")
        out: list = []
        v5 = self.version == 5
        nudge_bit = 0x08
        while True:
            kind, opts = self.tag()
            if kind == 0:
                return out
            if kind == 1:  # LINE
                if opts & nudge_bit:
                    self.nudge()
                if opts & 0x04:  # line spacing
                    self.word()
                if opts & 0x02:
                    self.ruler()
                out.append(("line", None if opts & 0x01 else self.objects(depth + 1)))
            elif kind == 2:  # CHAR
                if opts & nudge_bit:
                    self.nudge()
                face = self.byte() - 128
                if v5:
                    code = self.word() if not opts & 0x20 else None
                    if opts & 0x04:
                        position = self.byte()
                        code = position if code is None else code
                    elif opts & 0x10:
                        position = self.word()
                        code = position if code is None else code
                    embell = opts & 0x01
                else:
                    code = self.word()
                    embell = opts & 0x02
                marks = [obj[1] for obj in self.objects(depth + 1) if obj[0] == "embell"] if embell else []
                out.append(("char", face, code if code is not None else 0, marks))
            elif kind == 3:  # TMPL
                if opts & nudge_bit:
                    self.nudge()
                selector = self.byte()
                variation = self.byte()
                if v5 and variation & 0x80:
                    variation = (variation & 0x7F) | (self.byte() << 8)
                self.byte()  # template-specific options (fence alignment, expanding integral)
                subs = self.objects(depth + 1)
                if not v5:
                    if selector == 15:
                        selector, variation = _V3_SCRIPT.get(variation, 29), 0
                    elif selector in (46, 47):  # vectors under/over: 0 left, 1 right, 2 both arrows
                        variation = {0: 0x01, 1: 0x02}.get(variation, 0x03) | (0x04 if selector == 46 else 0)
                        selector = 31
                    elif selector in _V3_TMPL:
                        new, var = _V3_TMPL[selector]
                        selector, variation = new, variation if var is None else var
                    else:
                        raise EquationError("unknown_mtef_record", f"MTEF v3 template selector {selector}")
                out.append(("tmpl", selector, variation, subs))
            elif kind == 4:  # PILE
                if opts & nudge_bit:
                    self.nudge()
                halign = self.byte()
                self.byte()  # valign
                if opts & 0x02:
                    self.ruler()
                out.append(("pile", halign, [o for o in self.objects(depth + 1) if o[0] == "line"]))
            elif kind == 5:  # MATRIX
                if opts & nudge_bit:
                    self.nudge()
                self.skip(3)  # valign, h_just, v_just
                rows, cols = self.byte(), self.byte()
                self.skip(((rows + 1) * 2 + 7) // 8 + ((cols + 1) * 2 + 7) // 8)  # partition lines
                out.append(("matrix", rows, cols, [o for o in self.objects(depth + 1) if o[0] == "line"]))
            elif kind == 6:  # EMBELL
                if opts & nudge_bit:
                    self.nudge()
                out.append(("embell", self.byte()))
                if not v5 and self.pos < len(self.data) and self.data[self.pos] == 0:
                    self.pos += 1  # v3 closes each EMBELL with its own END (two embellishments: 06 t 00 06 t 00 00)
            elif kind == 7:  # RULER outside a LINE/PILE
                self.skip(self.byte() * 3)
            elif kind == 8:  # FONT (v3) / FONT_STYLE_DEF (v5)
                if v5:
                    self.uint()
                    self.byte()
                else:
                    self.byte()
                    self.byte()
                    self.cstring()
            elif kind == 9:  # SIZE
                first = self.byte()
                if first == 101:
                    self.skip(2)
                elif first == 100:
                    self.skip(3)
                else:
                    self.skip(1)
            elif 10 <= kind <= 14:  # FULL, SUB, SUB2, SYM, SUBSYM
                continue
            elif v5 and kind == 15:  # COLOR
                self.uint()
            elif v5 and kind == 16:  # COLOR_DEF
                self.skip(8 if opts & 0x01 else 6)
                if opts & 0x04:
                    self.cstring()
            elif v5 and kind == 17:  # FONT_DEF
                self.uint()
                self.cstring()
            elif v5 and kind == 18:  # EQN_PREFS
                for _ in range(2):  # sizes, spaces: dimension arrays of nibbles ending in 0xF
                    self._dimensions(self.byte())
                for _ in range(self.byte()):  # styles
                    if self.byte():
                        self.byte()
            elif v5 and kind == 19:  # ENCODING_DEF
                self.cstring()
            elif kind == -1:
                continue
            else:
                raise EquationError("unknown_mtef_record", f"record type {kind} (MTEF v{self.version})")

    def ruler(self) -> None:
        kind, _ = self.tag()
        if kind != 7:
            raise EquationError("corrupt_mtef", "LINE/PILE announces a RULER that is not there")
        self.skip(self.byte() * 3)  # tab stops: type byte, 16-bit offset

    def _dimensions(self, count: int) -> None:
        # nibbles, two a byte, high first; each dimension ends with 0xF; the array ends on a byte
        nibble = done = 0
        data = self.data
        while done < count:
            if self.pos + (nibble >> 1) >= len(data):
                raise EquationError("corrupt_mtef", "stream ends in EQN_PREFS")
            byte = data[self.pos + (nibble >> 1)]
            if (byte >> 4 if nibble % 2 == 0 else byte & 0x0F) == 0x0F:
                done += 1
            nibble += 1
        self.pos += (nibble + 1) >> 1


def parse_mtef(data: bytes) -> Tuple[int, list]:
    """(MTEF version, top-level objects) of an MTEF stream (without the OLE header)."""
    if len(data) < 5:
        raise EquationError("corrupt_mtef", f"{len(data)} bytes")
    version = data[0]
    if version == 3:
        pos = 5
    elif version == 5:
        end = data.find(b"\0", 5)
        if end < 0:
            raise EquationError("corrupt_mtef", "header has no application key")
        pos = end + 2  # application key, then the equation options byte
    else:
        raise EquationError("unknown_mtef_version", f"MTEF version {version}")
    reader = _Reader(data, pos, version)
    try:
        return version, reader.objects()
    except EquationError:
        raise
    except (IndexError, struct.error, RecursionError) as exc:
        raise EquationError("corrupt_mtef", type(exc).__name__) from None


# -- LaTeX -----------------------------------------------------------------
# typefaces (fnXXX); a negative value is an explicit font, treated as text
_TEXT_FACES = frozenset({1, 9, 10, 12})
_FUNCTION, _VARIABLE, _SYMBOL_FACE, _VECTOR, _EXPAND, _MARKER, _SPACE = 2, 3, 6, 7, 22, 23, 24
_SCRIPTED, _OPERATOR = 1, 2  # atom flags in a line
_FUNCS = frozenset({"sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "sinh", "cosh",
                    "tanh", "log", "ln", "lg", "exp", "min", "max", "sup", "inf", "lim", "det", "dim", "ker",
                    "arg", "deg", "gcd", "Pr", "mod", "liminf", "limsup"})
# MathType private-use code points (MTCode) and Symbol-font glyph pieces
# MathType's own private-use code points (MTCode: expanding fences, MT Extra glyphs); the
# Symbol-font ones (U+F8E5-U+F8FE bracket pieces, U+F020-U+F0FF positions) go to symbol_fonts
_PRIVATE = {0xEC07: "|", 0xEC08: "|", 0xEC09: "‖", 0xEC0A: "‖", 0xEC00: "⟨", 0xEC01: "⟩", 0xEB00: "⟨",
            0xEB01: "⟩", 0xEC0B: "⟦", 0xEC0C: "⟧", 0xEB19: "…", 0xE98F: "…"}
_SPACES = {0xEF00: "", 0xEF01: r"\,", 0xEF02: r"\,", 0xEF03: r"\:", 0xEF04: r"\;", 0xEF05: r"\quad ",
           0xEF06: r"\quad ", 0xEF07: r"\,", 0xEF08: "~", 0xEB02: r"\,", 0xEB04: r"\;", 0xEB08: r"\quad "}
_DELIMS = {"(": "(", ")": ")", "[": "[", "]": "]", "{": r"\{", "}": r"\}", "|": "|", "‖": r"\|",
           "⌊": r"\lfloor ", "⌋": r"\rfloor ", "⌈": r"\lceil ", "⌉": r"\rceil ", "⟨": r"\langle ",
           "⟩": r"\rangle ", "〈": r"\langle ", "〉": r"\rangle ", "<": r"\langle ", ">": r"\rangle ", "/": "/",
           "\\": r"\backslash ", "⟦": "[", "⟧": "]", "∣": "|", "∥": r"\|"}
_FENCE_DEFAULT = {0: ("⟨", "⟩"), 1: ("(", ")"), 2: ("{", "}"), 3: ("[", "]"), 4: ("|", "|"), 5: ("‖", "‖"),
                  6: ("⌊", "⌋"), 7: ("⌈", "⌉"), 8: ("⟦", "⟧")}
_INTERVAL_LEFT = {0: "(", 1: ")", 2: "[", 3: "]"}
_BIG_OP = {15: r"\int ", 16: r"\sum ", 17: r"\prod ", 18: r"\coprod ", 19: r"\bigcup ", 20: r"\bigcap ",
           21: r"\int ", 22: r"\sum "}
_OP_CHAR = {"∑": r"\sum ", "∏": r"\prod ", "∐": r"\coprod ", "∫": r"\int ", "∬": r"\iint ", "∭": r"\iiint ",
            "∮": r"\oint ", "⋃": r"\bigcup ", "⋂": r"\bigcap ", "∪": r"\bigcup ", "∩": r"\bigcap ",
            "⨁": r"\bigoplus ", "⨂": r"\bigotimes ", "⋁": r"\bigvee ", "⋀": r"\bigwedge ", "⊕": r"\bigoplus ",
            "⊗": r"\bigotimes "}
# embellishments: (command wrapping the character, or a suffix when it starts with "'")
_EMBELL = {2: r"\dot", 3: r"\ddot", 4: r"\dddot", 5: "'", 6: "''", 7: "`", 8: r"\tilde", 9: r"\hat",
           10: r"\not", 11: r"\vec", 12: r"\overleftarrow", 13: r"\overleftrightarrow", 14: r"\vec",
           15: r"\overleftarrow", 16: r"\bar", 17: r"\bar", 18: "'''", 19: r"\overset{\frown}",
           20: r"\overset{\smile}", 21: r"\not", 22: r"\not", 23: r"\not", 24: r"\ddot",
           25: r"\underset{\cdot}", 26: r"\underset{\cdot\cdot}", 27: r"\underset{\cdot\cdot\cdot}",
           28: r"\underset{\cdot\cdot}", 29: r"\underline", 30: r"\underset{\sim}", 31: r"\underset{\frown}",
           32: r"\underset{\smile}", 33: r"\underrightarrow", 34: r"\underleftarrow",
           35: r"\underleftrightarrow", 36: r"\underrightarrow", 37: r"\underleftarrow"}
_RELATIONS = frozenset("=<>≤≥≠≈≡∼≅∝≪≫∈∉∋⊂⊃⊆⊇→←↔⇒⇐⇔≜≝≐")


def _group(latex: str) -> str:
    return "{" + latex.strip() + "}"


def _is_atom(latex: str) -> bool:
    """A single symbol or command that takes a script without braces."""
    latex = latex.strip()
    return len(latex) == 1 or (latex[:1] == "\\" and latex[1:].isalpha())


class _Latex:
    """Renders a parsed MTEF tree; one instance per equation (counts unmapped characters)."""

    def __init__(self) -> None:
        self.unmapped = 0

    # -- lines ------------------------------------------------------------
    def line(self, node, align: bool = False) -> str:
        if node is None:
            return ""
        if node[0] != "line":
            return self.objects([node])
        return self.objects(node[1] or [], align)

    def objects(self, objs: list, align: bool = False) -> str:
        atoms: List[str] = []  # each atom can take a script
        flags: List[int] = []  # per atom: _SCRIPTED, _OPERATOR (an operator, relation or space)
        run_face: Optional[int] = None
        run: List[str] = []
        aligned = not align
        pre: Optional[str] = None  # prescripts wait for the next atom

        def flush() -> None:
            nonlocal run_face
            if run:
                text = "".join(run)
                run.clear()
                if run_face == _FUNCTION:
                    atoms.append(rf"\{text} " if text in _FUNCS else r"\mathrm{" + text + "}")
                elif run_face == _VECTOR:
                    atoms.append(r"\mathbf{" + escape_math(text) + "}")
                else:
                    word = text.strip()
                    if not word:  # a typed space in text style
                        atoms.append("~")  # (not "\\ ": callers strip blanks)
                    elif word == text and word.isalnum() and word.isascii():  # RB, PUSCH: upright
                        atoms.append(r"\mathrm{" + word + "}")
                    elif not any(ch.isalnum() for ch in word):  # "·", "= ": symbols set upright
                        atoms.append(escape_math(word.replace(" ", "")))
                        flags.append(_OPERATOR)
                        run_face = None
                        return
                    else:
                        atoms.append(r"\text{" + escape_text(text) + "}")
                flags.append(_OPERATOR if atoms[-1] == "~" else 0)
            run_face = None

        def add(atom: str, flag: int = 0) -> None:
            nonlocal pre
            if pre is not None:
                atom, pre = pre + _group(atom), None
            atoms.append(atom)
            flags.append(flag)

        for obj in objs:
            kind = obj[0]
            if kind == "char":
                face, code, marks = obj[1], obj[2], obj[3]
                if face == _MARKER:
                    continue
                if face == _SPACE or code in _SPACES:
                    flush()
                    space = _SPACES.get(code, r"\,")
                    if space:
                        add(space, _OPERATOR)
                    continue
                ch = self.char(code)
                if not ch:
                    continue
                text_face = face in _TEXT_FACES or face < 0
                if not marks and (text_face or (face == _FUNCTION and ch.isalpha()) or face == _VECTOR):
                    group = _FUNCTION if face == _FUNCTION else _VECTOR if face == _VECTOR else 1
                    if run_face != group:
                        flush()
                        run_face = group
                    run.append(ch)
                    continue
                flush()
                if not aligned and ch in _RELATIONS:
                    atoms.append("&")
                    flags.append(_SCRIPTED | _OPERATOR)
                    aligned = True
                latex = escape_math(ch) if not text_face else r"\text{" + escape_text(ch) + "}"
                if face == _VECTOR:
                    latex = r"\mathbf{" + latex + "}"
                for mark in marks:
                    latex = self.embellish(latex, mark)
                add(latex, _OPERATOR if face == _SYMBOL_FACE and not ch.isalnum() else 0)
            elif kind == "tmpl":
                flush()
                selector, variation, subs = obj[1], obj[2], obj[3]
                if selector in (27, 28, 29):
                    slots = [s for s in subs if s[0] == "line"]
                    sub = self.line(slots[0]) if slots else ""
                    sup = self.line(slots[1]) if len(slots) > 1 else ""
                    script = ("_" + _group(sub) if sub.strip() else "") + ("^" + _group(sup) if sup.strip() else "")
                    if not script:
                        continue
                    if variation == "pre" or (isinstance(variation, int) and variation & 0x01):
                        if not atoms or flags[-1] & _OPERATOR:  # a real prescript: {}_{92}^{235}U
                            pre = "{}" + script
                            continue
                        # right after a symbol it looks like (and means) that symbol's script: M_{3}
                    if not atoms or atoms[-1] == "&":
                        atoms.append("{}")
                        flags.append(0)
                    if atoms[-1].strip("'") == "" and len(atoms) > 1 and not flags[-2] & _SCRIPTED:
                        atoms[-2:] = [atoms[-2] + atoms[-1]]  # a prime typed as a character: Q' then _{ACK}
                        flags.pop()
                    last = atoms[-1]
                    primed = last.endswith("'") and "^" not in script  # Q'_{ACK} is fine, Q'^{2} is not
                    if flags[-1] & _SCRIPTED or (last.endswith("'") and not primed) or not (
                            primed or _is_atom(last) or last.endswith("}") or last.endswith(")")
                            or last.endswith("]")):
                        last = _group(last)
                    atoms[-1] = last + script
                    flags[-1] = _SCRIPTED
                else:
                    add(self.template(selector, variation, subs))
            elif kind == "line":
                flush()
                inner = self.line(obj)
                if inner.strip():
                    add(_group(inner))
            elif kind == "pile":
                flush()
                add(self.pile(obj))
            elif kind == "matrix":
                flush()
                add(self.matrix(obj))
        flush()
        if pre is not None:
            atoms.append(pre)
        out = ""
        for atom in atoms:
            if out and out[-1].isalpha() and atom[:1].isalpha():
                i = len(out) - 1
                while i >= 0 and out[i].isalpha():
                    i -= 1
                if i >= 0 and out[i] == "\\":  # a command name must not run into a letter
                    out += " "
            out += atom
        return out

    def char(self, code: int) -> str:
        if code in _PRIVATE:
            return _PRIVATE[code]
        if 0xE000 <= code <= 0xF8FF:
            ch = symbol_char(code, "symbol")
            if not ch or 0xE000 <= ord(ch[0]) <= 0xF8FF:
                self.unmapped += 1
                return ""
            return ch
        if code < 0x20 or 0xD800 <= code <= 0xDFFF:
            return ""
        return chr(code)

    @staticmethod
    def embellish(latex: str, mark: int) -> str:
        cmd = _EMBELL.get(mark)
        if cmd is None:
            return latex
        if cmd[0] == "'":
            return latex + cmd
        if cmd == "`":
            return "{}'" + latex
        if cmd == r"\not":
            return r"\not " + latex
        return cmd + _group(latex)

    # -- templates --------------------------------------------------------
    def template(self, selector: int, variation, subs: list) -> str:
        slots = [s for s in subs if s[0] != "char"]
        chars = [s for s in subs if s[0] == "char"]
        first = self.line(slots[0]) if slots else ""
        if selector <= 9:  # fences
            return self.fence(selector, variation, first, chars)
        if selector == 10:
            index = self.line(slots[1]) if len(slots) > 1 else ""
            return (r"\sqrt[" + index.strip() + "]" if index.strip() else r"\sqrt") + _group(first)
        if selector == 11:
            den = self.line(slots[1]) if len(slots) > 1 else ""
            if variation == "slash" or (isinstance(variation, int) and variation & 0x02):
                return _group(first) + "/" + _group(den)
            return (r"\tfrac" if isinstance(variation, int) and variation & 0x01 else r"\frac") + _group(first) + _group(den)
        if selector in (12, 13):
            cmd = r"\underline" if selector == 12 else r"\overline"
            out = cmd + _group(first)
            return cmd + _group(out) if isinstance(variation, int) and variation & 0x01 else out
        if selector == 14:
            bottom = self.line(slots[1]) if len(slots) > 1 else ""
            var = variation if isinstance(variation, int) else 0
            if var & 0x03:  # double arrow or harpoon
                arrow = r"\rightleftharpoons " if var & 0x02 else r"\leftrightarrows "
                return r"\overset" + _group(first) + _group(r"\underset" + _group(bottom) + _group(arrow))
            if var & 0x30 == 0x30:  # one arrow pointing both ways
                out = r"\overset" + _group(first) + "{\\leftrightarrow}"
                return r"\underset" + _group(bottom) + _group(out) if bottom.strip() else out
            cmd = r"\xleftarrow" if var & 0x10 else r"\xrightarrow"
            return cmd + ("[" + bottom.strip() + "]" if bottom.strip() else "") + _group(first)
        if 15 <= selector <= 22:
            return self.big_op(selector, variation, slots, chars)
        if selector == 23:
            lower = self.line(slots[1]) if len(slots) > 1 else ""
            upper = self.line(slots[2]) if len(slots) > 2 else ""
            base = first.strip()
            if base[:1] == "\\" and base[1:].isalpha():
                return base + ("_" + _group(lower) if lower.strip() else "") + ("^" + _group(upper) if upper.strip() else "")
            out = _group(base)
            if lower.strip():
                out = r"\underset" + _group(lower) + _group(out)
            if upper.strip():
                out = r"\overset" + _group(upper) + _group(out)
            return out
        if selector in (24, 25):
            label = self.line(slots[1]) if len(slots) > 1 else ""
            top = isinstance(variation, int) and variation & 0x01
            if selector == 24:
                out = (r"\overbrace" if top else r"\underbrace") + _group(first)
            else:
                out = (r"\overline" if top else r"\underline") + _group(first)
            return out + (("^" if top else "_") + _group(label) if label.strip() else "")
        if selector == 26:
            upper = self.line(slots[1]) if len(slots) > 1 else ""
            out = r"\left)" + first + r"\right."
            return r"\overset" + _group(upper) + _group(out) if upper.strip() else out
        if selector == 30:
            right = self.line(slots[1]) if len(slots) > 1 else ""
            return r"\langle " + first + (" | " + right if right.strip() else "") + r"\rangle "
        if selector == 31:
            var = variation if isinstance(variation, int) else 0x02
            under = var & 0x04
            both = var & 0x03 == 0x03
            left = var & 0x01 and not both
            if under:
                cmd = r"\underleftrightarrow" if both else r"\underleftarrow" if left else r"\underrightarrow"
            else:
                cmd = r"\overleftrightarrow" if both else r"\overleftarrow" if left else r"\overrightarrow"
            return cmd + _group(first)
        if selector == 32:
            return r"\widetilde" + _group(first)
        if selector == 33:
            return r"\widehat" + _group(first)
        if selector == 34:
            return r"\overset{\frown}" + _group(first)
        if selector == 35:
            return first + r"\rfloor "
        if selector == 36:
            return r"\cancel" + _group(first)
        if selector == 37:
            return r"\boxed" + _group(first)
        raise EquationError("unknown_mtef_record", f"template selector {selector}")

    def fence(self, selector: int, variation, inner: str, chars: list) -> str:
        glyphs = [self.char(c[2]) for c in chars]
        default = _FENCE_DEFAULT.get(selector, ("(", ")"))
        var = variation if isinstance(variation, int) else 3
        if selector == 9:  # interval: the fences are given by the variation
            left = _INTERVAL_LEFT.get(var & 0x03, "(")
            right = _INTERVAL_LEFT.get((var >> 4) & 0x03, ")")
            left = glyphs[0] if glyphs and glyphs[0] else left
            right = glyphs[1] if len(glyphs) > 1 and glyphs[1] else right
        else:
            left = glyphs[0] if glyphs and glyphs[0] else default[0]
            right = glyphs[1] if len(glyphs) > 1 and glyphs[1] else default[1]
            # variation 1 or 2: only the left or right fence (0 and 3: both, as the glyphs say)
            if var & 0x03 == 0x02:
                left = ""
            elif var & 0x03 == 0x01:
                right = ""
        return r"\left" + _DELIMS.get(left, ".") + " " + inner + r" \right" + _DELIMS.get(right, ".")

    def big_op(self, selector: int, variation, slots: list, chars: list) -> str:
        main = self.line(slots[0]) if slots else ""
        lower = self.line(slots[1]) if len(slots) > 1 else ""
        upper = self.line(slots[2]) if len(slots) > 2 else ""
        op = None
        if chars:
            glyph = self.char(chars[0][2])
            op = _OP_CHAR.get(glyph) or (escape_math(glyph) if glyph else None)
        elif len(slots) > 3:  # the operator in a slot of its own: MathType users put a φ there
            glyph = self.line(slots[3]).strip()
            op = _OP_CHAR.get(glyph, glyph + " ") if glyph else None
        if op is None:
            op = _BIG_OP.get(selector, r"\sum ")
            if selector == 15 and isinstance(variation, str) and variation[-1] in "23":
                op = r"\iint " if variation[-1] == "2" else r"\iiint "
        out = op.rstrip()
        if lower.strip():
            out += "_" + _group(lower)
        if upper.strip():
            out += "^" + _group(upper)
        return out + " " + main

    # -- piles and matrices -------------------------------------------------
    def pile(self, node) -> str:
        halign, lines = node[1], node[2]
        if len(lines) == 1:
            return self.line(lines[0])
        if halign == 4:  # aligned at the relation operators
            rows = [self.line(line, align=True) for line in lines]
            return r"\begin{aligned}" + r" \\ ".join(r.strip() for r in rows) + r"\end{aligned}"
        rows = [self.line(line).strip() for line in lines]
        col = {1: "l", 3: "r"}.get(halign, "c")
        return r"\begin{array}{" + col + "}" + r" \\ ".join(rows) + r"\end{array}"

    def matrix(self, node) -> str:
        rows, cols, cells = node[1], node[2], node[3]
        cols = max(cols, 1)
        texts = [self.line(cell).strip() for cell in cells]
        body = []
        for r in range(max(rows, 1)):
            row = texts[r * cols:(r + 1) * cols]
            if row:
                body.append(" & ".join(row))
        return r"\begin{matrix}" + r" \\ ".join(body) + r"\end{matrix}"


def mtef_to_latex(data: bytes) -> Tuple[str, int]:
    """(LaTeX without ``$`` delimiters, number of unmapped characters) of an MTEF stream."""
    _, objs = parse_mtef(data)
    while len(objs) == 1 and objs[0][0] == "line":  # the equation's own slot: no braces around it
        objs = objs[0][1] or []
    renderer = _Latex()
    try:
        latex = renderer.objects(objs)
    except RecursionError:
        raise EquationError("corrupt_mtef", "nesting too deep") from None
    return " ".join(latex.split()), renderer.unmapped


def ole_to_latex(data: bytes) -> Tuple[str, int]:
    """(LaTeX, unmapped characters) of one OLE equation object (``word/embeddings/oleObject*.bin``)."""
    import olefile

    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # olefile raises OSError or its own errors on broken containers
        raise EquationError("corrupt_ole", f"{type(exc).__name__}: {exc}"[:120]) from None
    with ole:
        if not ole.exists("Equation Native"):
            raise EquationError("not_equation", "no 'Equation Native' stream")
        try:
            native = ole.openstream("Equation Native").read()
        except Exception as exc:
            raise EquationError("corrupt_ole", f"{type(exc).__name__}: {exc}"[:120]) from None
    header = struct.unpack_from("<H", native, 0)[0] if len(native) >= 2 else 0
    start = header if 0 < header <= 64 else _HEADER
    if len(native) <= start:
        raise EquationError("corrupt_mtef", "empty 'Equation Native' stream")
    return mtef_to_latex(native[start:])  # "" for an empty equation (Word shows nothing either)


class OleEquations:
    """The equation objects of one Word package, each converted once, when the reader meets it.

    ``read(part_name)`` returns a part's bytes; ``targets`` maps relationship ids of the main
    document (``r:id`` of ``o:OLEObject``) to part names. :meth:`convert` gives
    ``(latex, None)``, ``("", None)`` for an empty equation, or ``(None, reason)``.
    """

    def __init__(self, read, targets):
        self._read = read
        self._targets = targets
        self._done: dict = {}  # part -> (latex, reason, detail)
        self._by_content: dict = {}  # digest of the part's bytes -> (latex, reason, detail, unmapped)
        self.unmapped = 0  # characters no table knows, dropped from the LaTeX

    def failures(self) -> List[Tuple[str, str, str]]:
        """(part, reason, detail) of each object that stayed a placeholder, in part order."""
        return [(part, reason, detail) for part, (latex, reason, detail) in sorted(self._done.items())
                if latex is None]

    def convert(self, rel_id: Optional[str]) -> Tuple[Optional[str], Optional[str]]:
        part = self._targets.get(rel_id or "")
        if part is None:  # no relationship: no part to name (counted by the reader, not a failure here)
            return None, "missing_part"
        if part not in self._done:
            try:
                data = self._read(part)
            except KeyError:  # listed in the relationships, absent from the package
                self._done[part] = (None, "missing_part", "not in the package")
                return None, "missing_part"
            # Specs repeat small equations (k, l, N_RB ...): half of 38.212's 1,917 objects are
            # byte-identical to another one, so identical bytes are converted once.
            key = hashlib.blake2b(data, digest_size=16).digest()
            if key not in self._by_content:
                try:
                    latex, unmapped = ole_to_latex(data)
                    self._by_content[key] = (latex, None, "", unmapped)
                except EquationError as exc:
                    self._by_content[key] = (None, exc.reason, exc.detail, 0)
            latex, reason, detail, unmapped = self._by_content[key]
            self.unmapped += unmapped
            self._done[part] = (latex, reason, detail)
        return self._done[part][:2]
