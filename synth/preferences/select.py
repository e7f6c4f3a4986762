"""Choose the preference pair of an item, or say (as a counted rule) why there is none.

Verifiable items (a usable reference) are decided by the reference first:

* chosen = a correct candidate (the best judged one when the judge scored them, else
  the first in candidate order: endpoints in the order given, then sample index);
* rejected = a wrong candidate, else one whose answer could not be read (``unparsed``),
  the lowest judged first;
* no correct candidate: ``all_bad``; every candidate correct: the judge decides among
  them like for a free-form item (``all_correct`` when it did not score them).

Free-form items (and all-correct verifiable ones) are decided by the judge's overall
score (1-10): chosen = the highest, which must reach ``min_chosen_score`` (else
``all_bad``); rejected = the lowest among those at least ``min_margin`` below it
(``tie`` when every score is equal, ``margin_too_small`` when they differ by less).
A candidate cut by the token limit or a content filter is never chosen. Identical answers never make a pair.

With pairwise confirmation (the judge stage asked, in both orders, which of the two
answers is better), a judge-decided pair is kept only when both orders prefer the chosen
answer (``judge_inconsistent`` otherwise).

Drop rules: ``no_candidates``, ``single_candidate``, ``all_bad``, ``all_correct``,
``tie``, ``margin_too_small``, ``identical_candidates``, ``judge_parse_failure``,
``judge_failed`` (the judge endpoint failed), ``judge_inconsistent``.
"""
from __future__ import annotations

import re
from typing import Optional, Union

from telecom_etl.outcome import Dropped
from telecom_etl.synth.preferences.schema import Candidate, Pair, PreferenceItem
from telecom_etl.synth.preferences.verify import CORRECT, UNPARSED, WRONG

DEFAULT_MIN_MARGIN = 1.0
CUT = ("length", "content_filter")  # finish reasons of an answer that did not end by itself
DEFAULT_MIN_CHOSEN_SCORE = 6.0


def _same(a: Candidate, b: Candidate) -> bool:
    norm = lambda t: re.sub(r"\s+", " ", (t or "").strip())  # noqa: E731
    return norm(a.text) == norm(b.text)


def _order(item: PreferenceItem, c: Candidate) -> int:
    return item.candidates.index(c)


def judge_agreement(chosen: Candidate, rejected: Candidate) -> Optional[str]:
    """Whether the judge's scores rank a reference-decided pair the same way."""
    if chosen.judge_score is None or rejected.judge_score is None:
        return None
    if chosen.judge_score > rejected.judge_score:
        return "agree"
    if chosen.judge_score < rejected.judge_score:
        return "disagree"
    return "tie"


def select_pair(item: PreferenceItem, min_margin: float = DEFAULT_MIN_MARGIN,
                min_chosen_score: float = DEFAULT_MIN_CHOSEN_SCORE,
                judge_model: Optional[str] = None) -> Union[Pair, Dropped]:
    usable = [c for c in item.candidates if c.ok]
    if not usable:
        kinds: dict = {}
        for c in item.candidates:
            if c.error:
                kinds[c.error] = kinds.get(c.error, 0) + 1
        failed = ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items()))
        return Dropped("no_candidates", "no candidate answer" + (f" ({failed})" if failed else ""))
    if len(usable) == 1:
        return Dropped("single_candidate", f"1 usable candidate of {len(item.candidates)}")
    first = usable[0]
    if all(_same(first, c) for c in usable[1:]):
        return Dropped("identical_candidates", f"all {len(usable)} candidates gave the same answer")

    verified = item.answer_kind != "free" and item.reference_error is None and all(
        c.verdict is not None for c in usable)
    pool = usable
    if verified:
        correct = [c for c in usable if c.verdict == CORRECT and c.finish_reason not in CUT]
        worse = [c for c in usable if c.verdict in (WRONG, UNPARSED)]
        if not correct:
            n_wrong = sum(c.verdict == WRONG for c in usable)
            return Dropped("all_bad", f"no candidate matches the reference ({n_wrong} wrong, "
                                      f"{len(usable) - n_wrong} unparsed or truncated)")
        if worse:
            chosen = min(correct, key=lambda c: (-(c.judge_score if c.judge_score is not None else -1.0),
                                                 _order(item, c)))
            rejected = min(
                (c for c in worse if not _same(c, chosen)),
                key=lambda c: (c.verdict != WRONG, c.judge_score if c.judge_score is not None else 99.0,
                               _order(item, c)),
                default=None)
            if rejected is not None:
                return Pair(item, chosen, rejected, "reference", 1.0, 0.0, judge_model=judge_model,
                            judge_agrees=judge_agreement(chosen, rejected))
        pool = correct  # every usable candidate is right: let the judge rank them

    scored = [c for c in pool if c.judge_score is not None]
    if len(scored) < 2:
        parse_failures = sum(c.judge_error == "judge_parse_failure" for c in pool)
        request_failures = sorted({c.judge_error for c in pool if c.judge_error not in (None, "judge_parse_failure")})
        if parse_failures:
            return Dropped("judge_parse_failure", f"{parse_failures} of {len(pool)} judge replies unparseable")
        if request_failures:
            return Dropped("judge_failed", "judge requests failed: " + ", ".join(request_failures))
        if verified:
            return Dropped("all_correct", f"all {len(pool)} candidates match the reference and none was judged")
        return Dropped("single_candidate", f"{len(scored)} judged candidate(s) of {len(pool)}")
    eligible = [c for c in scored if c.finish_reason not in CUT]
    if not eligible:
        return Dropped("all_bad", "every judged candidate was cut by the token limit")
    chosen = min(eligible, key=lambda c: (-c.judge_score, _order(item, c)))
    if chosen.judge_score < min_chosen_score:
        return Dropped("all_bad", f"best judge score {chosen.judge_score:g} < {min_chosen_score:g}")
    worse = [c for c in scored if c is not chosen and not _same(c, chosen)
             and c.judge_score <= chosen.judge_score - min_margin + 1e-9]
    if not worse:
        spread = chosen.judge_score - min(c.judge_score for c in scored)
        if spread == 0:
            return Dropped("tie", f"all {len(scored)} judged candidates scored {chosen.judge_score:g}")
        return Dropped("margin_too_small", f"best {chosen.judge_score:g}, spread {spread:g} < {min_margin:g}")
    rejected = min(worse, key=lambda c: (c.judge_score, _order(item, c)))
    confirmed = None
    check = item.pairwise
    if check is not None and check.get("chosen") == _order(item, chosen) and check.get("rejected") == _order(
            item, rejected):
        verdict = check.get("verdict")
        if verdict == "judge_parse_failure":
            return Dropped("judge_parse_failure", "pairwise confirmation unparseable")
        if verdict != "confirmed":
            if verdict in ("inconsistent", "reversed"):
                return Dropped("judge_inconsistent", f"scores {chosen.judge_score:g} > {rejected.judge_score:g} but "
                                                     f"pairwise: {check.get('detail', verdict)}")
            return Dropped("judge_failed", f"pairwise confirmation: {verdict}")
        confirmed = "confirmed"
    return Pair(item, chosen, rejected, "judge", chosen.judge_score, rejected.judge_score, judge_model=judge_model,
                pairwise=confirmed)
