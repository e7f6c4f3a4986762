"""Check a candidate answer against a known reference, per answer kind.

A verifiable task has one right answer that a program can compare: the option of a
multiple-choice question, a classification label, a masked equation, a masked code
span. For those the reference decides the preference, not an LLM judge. Each checker
reads free model text (models answer "B", "**Option 2**", "The correct answer is (c)",
"I think the answer is 2 ms") and returns a :class:`Verdict`:

* ``correct``: the extracted answer equals the reference after normalisation;
* ``wrong``: an answer was found and differs;
* ``unparsed``: no answer could be read out of the text (counted apart, and never
  chosen; as a rejected answer it is as bad as a wrong one).

Kinds: ``mcq``, ``label``, ``equation``, ``code``, ``expansion`` (of an abbreviation);
``free`` (anything else) has no checker and goes to the judge.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

CORRECT, WRONG, UNPARSED = "correct", "wrong", "unparsed"

VERIFIABLE_KINDS = ("mcq", "label", "equation", "code", "expansion")
FREE = "free"


@dataclass(frozen=True)
class Verdict:
    status: str  # correct / wrong / unparsed
    extracted: Optional[str] = None  # the answer read out of the candidate, normalised
    expected: Optional[str] = None  # the reference, normalised

    @property
    def correct(self) -> bool:
        return self.status == CORRECT


# ---------------------------------------------------------------------------
# which answer kind a task has
# ---------------------------------------------------------------------------

#: task name -> answer kind (the synth-instructions tasks; other names go by the words below)
TASK_KINDS: Dict[str, str] = {"mcq": "mcq", "wg_classification": "label", "math_infill": "equation",
                              "code_infill": "code", "open_qa": FREE, "code_summarise": FREE}

_KIND_HINTS = (  # (answer kind, every one of these words in the task name)
    ("mcq", ("mcq",)), ("mcq", ("multiple", "choice")), ("mcq", ("choice",)), ("mcq", ("qna",)),
    ("label", ("classif",)), ("label", ("label",)),
    ("equation", ("equation",)), ("equation", ("formula",)), ("equation", ("latex",)),
    ("code", ("code", "mask")), ("code", ("code", "fill")), ("code", ("code", "complet")),
    ("code", ("code", "infill")),
)


def answer_kind(task: str, declared: Optional[str] = None, overrides: Optional[Dict[str, str]] = None) -> str:
    """The answer kind of ``task``: an explicit override, the record's own declaration, the
    :data:`TASK_KINDS` table, then words of the task name; ``free`` when none applies."""
    if overrides and task in overrides:
        return overrides[task]
    if declared and declared in VERIFIABLE_KINDS + (FREE,):
        return declared
    if task in TASK_KINDS:
        return TASK_KINDS[task]
    name = (task or "").lower()
    for kind, words in _KIND_HINTS:
        if all(w in name for w in words):
            return kind
    return FREE


# ---------------------------------------------------------------------------
# shared text helpers
# ---------------------------------------------------------------------------

_WS = re.compile(r"\s+")
_MD = re.compile(r"[*_`]+")


def _plain(text: str) -> str:
    """NFKC, markdown emphasis removed, whitespace collapsed, lower case."""
    text = unicodedata.normalize("NFKC", text or "")
    return _WS.sub(" ", _MD.sub("", text)).strip().lower()


def _words(text: str) -> str:
    """Lower-case words and numbers only (punctuation dropped): for label/option text matching."""
    return " ".join(re.findall(r"[\w.+-]+", _plain(text).replace("_", " "))).strip(" .")


def _whole(needle: str, haystack: str) -> bool:
    if not needle:
        return False
    return re.search(r"(?<![\w.+-])" + re.escape(needle) + r"(?![\w+-]|\.\w)", haystack) is not None


# ---------------------------------------------------------------------------
# multiple choice
# ---------------------------------------------------------------------------

_OPTION_LINE = re.compile(
    r"^\s*(?:[-*]\s*)?\(?(?:option|choice)?\s*([A-Ja-j]|\d{1,2})\s*[\).:\]-]\s*(.+?)\s*$", re.I)
_OPTION_LINE_WORD = re.compile(r"^\s*(?:[-*]\s*)?(?:option|choice)\s+([A-Ja-j]|\d{1,2})\s*[\).:\]-]?\s+(.+?)\s*$", re.I)
# an option letter or number; "A"/"I" followed by a lower-case word are the article/pronoun
# ("Answer: A unit of data"), "H.324" is no letter
_TOKEN = r"((?![AI]\s+[a-z])[A-J]|[a-j](?=\s*\))|\d{1,2})(?![\w])(?![.-]\w)"
_PRE = r"[*_`\s]*\(?\s*(?:(?i:option|choice)\s*)?\(?\s*"
# strongest: "answer is B", "correct answer: option 3", "Final answer: **(c)**", "the correct option is 2"
_STATED = re.compile(r"(?:(?i:answer)|(?i:correct|right|best|final)\s+(?i:option|choice))\s*"
                     r"(?:(?i:is|would be|should be)|[:=-])\s*[:-]?" + _PRE + _TOKEN)
# what follows a stated answer up to the end of its line ("Answer: 8 W/kg")
_STATED_REST = re.compile(r"(?:(?i:answer)|(?i:correct|right|best|final)\s+(?i:option|choice))\s*"
                          r"(?:(?i:is|would be|should be)|[:=-])\s*[:-]?\s*([^\n]+)")
_LABEL_PREFIX = re.compile(r"^[*_`\s(]*(?:(?i:option|choice)\s*)?\(?\s*(?:[A-Ja-j]|\d{1,2})\s*(?:[\).:\]]|-(?=\s))\s*")
# weaker: "option 3 is correct", "(B) is the right one"
_CLAIMED = re.compile(r"(?:(?i:option|choice)\s*)?\(?" + _TOKEN + r"\)?[*_`]*\s+(?i:is)\s+(?:(?i:the)\s+)?"
                      r"(?i:correct|right|best)")
# an answer that starts with its option: "B) ...", "**Option 3**", "(c) ...", "2."
_LEADING = re.compile(r"^\s*[*_`\s]*\(?\s*(?:(?i:option|choice)\s*)?([A-J]|[a-j](?=\s*[\).\]:])|\d{1,2})"
                      r"\s*[*_`]*\s*(?:[\).:\]]|$|\s-\s)")
_LETTERS = "ABCDEFGHIJ"


def option_index(token: str) -> Optional[int]:
    """``"B"``/``"b"``/``"2"``/``"option 2"`` -> 2 (1-based)."""
    token = (token or "").strip().strip("()[].:*").strip()
    token = re.sub(r"^(?:option|choice)\s*", "", token, flags=re.I).strip("()[].:* ")
    if token.isdigit():
        n = int(token)
        return n if n >= 1 else None
    if len(token) == 1 and token.upper() in _LETTERS:
        return _LETTERS.index(token.upper()) + 1
    return None


def parse_options(text: str) -> Dict[int, str]:
    """Options listed in a question: lines like ``option 1: ...``, ``A) ...``, ``(b) ...``, ``3. ...``.

    Keeps the last run of consecutive options starting at 1/A, so a numbered list earlier
    in the prompt (the steps of a procedure) is not mistaken for the options.
    """
    runs: List[Dict[int, str]] = []
    current: Dict[int, str] = {}
    for line in (text or "").splitlines():
        m = _OPTION_LINE_WORD.match(line) or _OPTION_LINE.match(line)
        idx = option_index(m.group(1)) if m else None
        if m and idx is not None and idx == len(current) + 1:
            current[idx] = m.group(2).strip()
            continue
        if m and idx == 1:
            if len(current) >= 2:
                runs.append(current)
            current = {1: m.group(2).strip()}
            continue
        if line.strip() and current and not m:
            # a wrapped option line continues the previous option only when indented
            if line[:1].isspace() and len(current) >= 1:
                last = max(current)
                current[last] = current[last] + " " + line.strip()
                continue
            if len(current) >= 2:
                runs.append(current)
            current = {}
    if len(current) >= 2:
        runs.append(current)
    # options come after the question: the last list wins over a numbered list of steps before it
    return runs[-1] if runs else {}


def reference_option(reference: str, options: Dict[int, str]) -> Optional[int]:
    """The option a reference answer names: ``"option 2: To configure ..."``, ``"B"``, ``3``, or the option text."""
    if reference is None:
        return None
    ref = str(reference).strip()
    idx = option_index(ref)
    if idx is None:
        m = re.match(r"^\s*\(?(?:option|choice)?\s*([A-J]|\d{1,2})\s*[\).:\]]", ref, re.I) or \
            re.match(r"^\s*(?:option|choice)\s+([A-Ja-j]|\d{1,2})\b", ref, re.I)
        if m:
            idx = option_index(m.group(1))
    if idx is None and options:
        idx = _option_by_text(ref, options, exact=True)
    if idx is None:
        return extract_option(ref, options)
    return idx


def _option_by_text(text: str, options: Dict[int, str], exact: bool = False) -> Optional[int]:
    body = _words(text)
    hits = []
    for i, opt in options.items():
        o = _words(opt)
        if not o:
            continue
        if (body == o) if exact else _whole(o, body):
            hits.append(i)
    if len(hits) > 1:  # "MIMO" inside "massive MIMO": keep only hits not contained in another hit
        texts = {i: _words(options[i]) for i in hits}
        hits = [i for i in hits if not any(j != i and texts[i] in texts[j] for j in hits)]
    return hits[0] if len(hits) == 1 else None


def _numeric_options(options: Dict[int, str]) -> bool:
    return bool(options) and all(re.fullmatch(r"[-+]?\d+(?:\.\d+)?", _words(o) or "x") for o in options.values())


def extract_option(text: str, options: Dict[int, str]) -> Optional[int]:
    """The option a free-text answer picks, or ``None`` when it names none, or several.

    Order: a stated answer ("the answer is C", "Final answer: **(b)**"; the last one
    wins, as models reason first and conclude last), a claim ("option 3 is correct"), an
    answer that starts with its option ("B) ...", "**Option 3**"), a unique option text
    quoted in the answer, a bare letter or number. A lower-case letter counts only in
    parentheses ("(c)"), never the article "a". When the option texts are numbers
    ("0", "2", "4"), a bare number that is also another option's value is ambiguous
    (``None``) unless written "option N".
    """
    if not text or not text.strip():
        return None
    n = len(options) if options else 10
    numeric = _numeric_options(options)

    def accept(token: str, prefixed: bool) -> Optional[int]:
        idx = option_index(token)
        if idx is None:
            return None
        if numeric and token.isdigit() and not prefixed:
            by_value = _option_by_text(token, options, exact=True)
            if by_value is not None:
                return by_value if by_value == idx or idx > n else None
        return idx if idx <= n else None

    def stated_text() -> Optional[int]:
        """The option whose text a stated answer spells out ("Answer: A user to use ...")."""
        found = None
        for m in _STATED_REST.finditer(text):
            body = _words(_LABEL_PREFIX.sub("", m.group(1)))
            if numeric and re.fullmatch(r"\d{1,2}", body):
                continue  # "Answer: 4" with options 0/4/2/1: a value or an option number
            hits = [i for i, o in options.items() if _words(o) and (body == _words(o) or body.startswith(
                _words(o) + " "))]
            if hits:
                found = max(hits, key=lambda i: len(_words(options[i])))
        return found

    def prefixed(match, group: int = 1) -> bool:
        token = match.group(group)
        head = match.string[match.start():match.start(group)]
        return not token.isdigit() or re.search(r"(?i:option|choice)\W*$", head) is not None

    if options:
        idx = stated_text()
        if idx is not None:
            return idx
    for pattern in (_STATED, _CLAIMED):
        found = [(accept(m.group(1), prefixed(m)), m.group(1)) for m in pattern.finditer(text)]
        if any(idx is not None for idx, _ in found):
            return [idx for idx, _ in found if idx is not None][-1]
        if any(tok.isdigit() and numeric for _, tok in found):
            return None  # "the answer is 4" with options 0/4/2/1: ambiguous, and no text to settle it
    lead = _LEADING.match(text)
    if lead:
        idx = accept(lead.group(1), prefixed(lead))
        if idx is not None:
            return idx
    bare = text.strip().strip("*_`().").strip()
    if len(bare) <= 2:
        return accept(bare, not bare.isdigit())
    return _option_by_text(text, options) if options else None


def check_mcq(candidate: str, reference: str, prompt: str = "", options: Optional[Dict[int, str]] = None) -> Verdict:
    options = options or parse_options(prompt)
    expected = reference_option(reference, options)
    if expected is None:
        raise ValueError(f"reference names no option: {str(reference)[:80]!r}")
    got = extract_option(candidate, options)
    if got is None:
        return Verdict(UNPARSED, None, str(expected))
    return Verdict(CORRECT if got == expected else WRONG, str(got), str(expected))


# ---------------------------------------------------------------------------
# classification labels
# ---------------------------------------------------------------------------

_LABEL_MARKER = re.compile(r"(?:label|class|category|answer|classification|working group|series)\s*(?:is|:|=|-)\s*(.+)",
                           re.I)
_SENTENCE_END = re.compile(r"(?<=\S)[.;,:!?](?=\s|$)|\s[-\u2013\u2014]\s|\s\(")
# 3GPP working groups are written "RAN1", "RAN WG1", "TSG RAN WG1", "RAN 1"
_WG = re.compile(r"\b(?:TSG\s*)?(RAN|SA|CT|GERAN)\s*(?:WG\s*)?(\d)\b", re.I)


def normalize_label(text: str) -> str:
    """``" RAN-1 "``, ``"ran_1"``, ``"**RAN1**."``, ``"TSG RAN WG1"`` -> ``"ran1"``: case, spaces,
    punctuation and the 3GPP working-group spellings ignored."""
    text = _WG.sub(lambda m: m.group(1) + m.group(2), unicodedata.normalize("NFKC", text or ""))
    return re.sub(r"[\W_]+", "", text.lower())


def _label_span(text: str) -> str:
    """Where the answer names its label: after an explicit marker ("Label: X"), else the first
    line; cut at the end of its first sentence ("RAN1. The text is from ..." -> "RAN1")."""
    m = None
    for m in _LABEL_MARKER.finditer(text):
        pass
    line = ""
    if m:
        line = m.group(1).splitlines()[0]
    else:
        line = next((x for x in text.splitlines() if x.strip()), "")
    line = _MD.sub("", line).strip()
    return _SENTENCE_END.split(line, 1)[0].strip()


def check_label(candidate: str, reference: str, labels: Sequence[str] = ()) -> Verdict:
    expected = normalize_label(reference)
    if not expected:
        raise ValueError("empty reference label")
    if not candidate or not candidate.strip():
        return Verdict(UNPARSED, None, expected)
    span = _label_span(candidate)
    got = normalize_label(span)
    if labels:
        known = {normalize_label(x): x for x in labels}
        if got in known:
            return Verdict(CORRECT if got == expected else WRONG, got, expected)
        def named(text: str) -> List[str]:
            words = _words(_WG.sub(lambda m: m.group(1) + m.group(2), text))
            found = {normalize_label(x) for x in labels if _whole(_words(x), words)}
            return sorted(h for h in found if not any(h != o and h in o for o in found))  # "RAN" in "RAN1"

        hits = named(span)
        if not hits:  # "It comes from TS 38.211, which RAN1 maintains": the label later in the answer
            hits = named(candidate)
        if len(hits) > 1:  # "RAN1" inside "RAN1 or RAN2": several labels named -> no answer
            return Verdict(UNPARSED, None, expected)
        if len(hits) == 1:
            return Verdict(CORRECT if hits[0] == expected else WRONG, hits[0], expected)
        return Verdict(UNPARSED, None, expected)
    if got == expected:
        return Verdict(CORRECT, got, expected)
    if _whole(_words(reference), _words(span)) and len(_words(span).split()) <= 8:
        return Verdict(CORRECT, expected, expected)
    return Verdict(WRONG if got else UNPARSED, got or None, expected)


# ---------------------------------------------------------------------------
# equations (LaTeX)
# ---------------------------------------------------------------------------

_MATH_SPANS = (
    re.compile(r"\$\$(.+?)\$\$", re.S),
    re.compile(r"\\\[(.+?)\\\]", re.S),
    re.compile(r"\\begin\{(equation|align|gather|multline)\*?\}(.+?)\\end\{\1\*?\}", re.S),
    re.compile(r"\\\((.+?)\\\)", re.S),
    re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$(?!\$)", re.S),
    re.compile(r"```(?:latex|tex|math)?\s*\n(.+?)```", re.S),
)
_SPACING = re.compile(r"\\(?:[,;:!> ]|quad|qquad|displaystyle|textstyle|scriptstyle|limits|nolimits|left|right|"
                      r"big|Big|bigg|Bigg)(?![a-zA-Z])")
_WRAPPERS = re.compile(r"\\(?:mathrm|mathit|text|textrm|textit|operatorname|mbox|mathbf|boldsymbol|bm|mathsf)"
                       r"\s*\{([^{}]*)\}")
_ALIASES = ((r"\dfrac", r"\frac"), (r"\tfrac", r"\frac"), (r"\le ", r"\leq "), (r"\ge ", r"\geq "),
            (r"\ne ", r"\neq "), (r"\to ", r"\rightarrow "), ("\\lbrace", "\\{"), ("\\rbrace", "\\}"),
            ("\u2212", "-"), ("\u00d7", r"\times "), ("\u22c5", r"\cdot "), ("\u2264", r"\leq "),
            ("\u2265", r"\geq "), ("\u2260", r"\neq "))


def latex_spans(text: str) -> List[str]:
    """Math spans of an answer in order (``$$..$$``, ``\\[..\\]``, environments, ``\\(..\\)``, ``$..$``,
    fenced latex); the whole text when it has none."""
    spans = []
    for pattern in _MATH_SPANS:
        for m in pattern.finditer(text or ""):
            spans.append((m.start(), m.groups()[-1]))
    if not spans:
        line = (text or "").strip()
        m = re.match(r"^(?:equation|answer|formula)\s*:\s*(.+)$", line, re.I | re.S)
        return [m.group(1) if m else line] if line else []
    return [s for _, s in sorted(spans)]


def normalize_latex(expr: str) -> str:
    """Spacing commands, ``\\left``/``\\right``, font wrappers, delimiters, braces around one
    token, equation labels and trailing punctuation removed; aliases (``\\dfrac`` ->
    ``\\frac``, ``\\le`` -> ``\\leq``, Unicode minus) unified; whitespace dropped."""
    s = unicodedata.normalize("NFKC", expr or "")
    s = re.sub(r"\\(?:label|tag|nonumber|notag)\s*(\{[^{}]*\})?", "", s)
    # alignment wrappers carry no maths: \begin{aligned} ... \end{aligned}
    s = re.sub(r"\\(?:begin|end)\{(?:aligned|split|gathered|alignedat)\*?\}(?:\{\d+\})?", "", s)
    s = s.replace("&", "").replace("\\\\", " ")
    s = s.strip().strip("$").strip()
    for a, b in _ALIASES:
        s = s.replace(a, b)
    s = re.sub(r"\\(le|ge|ne)(?![a-zA-Z])", lambda m: {"le": r"\leq", "ge": r"\geq", "ne": r"\neq"}[m.group(1)], s)
    s = _SPACING.sub(" ", s)
    prev = None
    while prev != s:
        prev = s
        s = _WRAPPERS.sub(r"\1", s)
    s = re.sub(r"\s+", " ", s)
    # whitespace only matters between a control word and a following letter (\alpha x)
    s = re.sub(r"(\\[a-zA-Z]+) (?=[a-zA-Z])", lambda m: m.group(1) + "\x00", s)
    s = s.replace(" ", "").replace("\x00", " ")
    s = re.sub(r"([_^])\{(\\?[a-zA-Z0-9])\}", r"\1\2", s)  # x^{2} -> x^2
    s = s.rstrip(".,;")
    return s


def check_equation(candidate: str, reference: str) -> Verdict:
    expected = normalize_latex((latex_spans(reference) or [reference])[0] if "$" in (reference or "")
                               or "\\[" in (reference or "") else reference)
    if not expected:
        raise ValueError("empty reference equation")
    spans = [normalize_latex(s) for s in latex_spans(candidate)]
    spans = [s for s in spans if s]
    if not spans:
        return Verdict(UNPARSED, None, expected)
    for s in spans:
        if s == expected:
            return Verdict(CORRECT, s, expected)
    # "y = <reference right-hand side>": the answer restated a left-hand side the reference omits
    for s in spans:
        head = s[:-len(expected)] if s.endswith(expected) else None
        if head and head.endswith("=") and "=" not in expected and len(head) <= 0.4 * len(s):
            return Verdict(CORRECT, s, expected)
    return Verdict(WRONG, spans[-1], expected)


# ---------------------------------------------------------------------------
# code
# ---------------------------------------------------------------------------

_FENCE = re.compile(r"```[\w+#.-]*[^\n]*\n(.*?)```", re.S)


def code_blocks(text: str) -> List[str]:
    blocks = _FENCE.findall(text or "")
    if blocks:
        return blocks
    m = re.search(r"```[\w+#.-]*\n?(.*)$", text or "", re.S)  # an unterminated fence
    if m:
        return [m.group(1)]
    return [text] if (text or "").strip() else []


def normalize_code(code: str) -> str:
    """Whitespace ignored: runs collapse to one space, and vanish next to punctuation
    (``f( a ,b )`` == ``f(a, b)``), so only a space between two words is kept."""
    s = unicodedata.normalize("NFKC", code or "").replace("\r\n", "\n")
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"\s*([^\w\s])\s*", r"\1", s)
    return s


def _code_lines(code: str) -> List[str]:
    return [x for x in (normalize_code(line) for line in (code or "").splitlines()) if x]


def check_code(candidate: str, reference: str, prompt: str = "") -> Verdict:
    """Correct when a code block of the answer equals the reference ignoring whitespace, or holds
    the reference lines in a row with nothing else but lines of the prompt's own code (an answer
    that repeats the context around the gap)."""
    ref_block = (code_blocks(reference) or [reference])[0]
    expected = normalize_code(ref_block)
    if not expected:
        raise ValueError("empty reference code")
    blocks = [b for b in code_blocks(candidate) if normalize_code(b)]
    if not blocks:
        return Verdict(UNPARSED, None, expected)
    for b in blocks:
        if normalize_code(b) == expected:
            return Verdict(CORRECT, normalize_code(b), expected)
    want = _code_lines(ref_block)
    context = set(_code_lines(prompt))
    for b in blocks:
        lines = _code_lines(b)
        for i in range(len(lines) - len(want) + 1):
            if lines[i:i + len(want)] == want and all(x in context for x in lines[:i] + lines[i + len(want):]):
                return Verdict(CORRECT, normalize_code(b), expected)
    return Verdict(WRONG, normalize_code(blocks[0]), expected)


# ---------------------------------------------------------------------------
# expansions of abbreviations
# ---------------------------------------------------------------------------

def check_expansion(candidate: str, reference: str) -> Verdict:
    """An abbreviation's expansion: correct when the answer spells out the reference expansion
    (one of them, for ``"A; B"`` references), ignoring case, punctuation and hyphens."""
    def norm(t):
        return " ".join(re.findall(r"[a-z0-9]+", _plain(t).replace("-", " ")))

    options = [norm(x) for x in re.split(r";\s*", reference or "") if norm(x)]
    if not options:
        raise ValueError("empty reference expansion")
    body = norm(candidate)
    if not body:
        return Verdict(UNPARSED, None, options[0])
    for o in options:
        if re.search(r"(?<![a-z0-9])" + re.escape(o) + r"(?![a-z0-9])", body):
            return Verdict(CORRECT, o, options[0])
    return Verdict(WRONG, None, options[0])


# ---------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------

def check(kind: str, candidate: str, reference: str, prompt: str = "",
          options: Optional[Dict[int, str]] = None, labels: Sequence[str] = ()) -> Verdict:
    """Verdict of ``candidate`` for a task of answer ``kind``; raises ``ValueError`` for an
    unusable reference (the item then goes to the judge, counted)."""
    checkers: Dict[str, Callable[[], Verdict]] = {
        "mcq": lambda: check_mcq(candidate, reference, prompt, options),
        "label": lambda: check_label(candidate, reference, labels),
        "equation": lambda: check_equation(candidate, reference),
        "code": lambda: check_code(candidate, reference, prompt),
        "expansion": lambda: check_expansion(candidate, reference),
    }
    if kind not in checkers:
        raise ValueError(f"no checker for answer kind {kind!r}")
    return checkers[kind]()
