"""Offline language identification and the keyword-density relevance signal."""
from __future__ import annotations

from test_filters_heuristics import TELECOM_PROSE, doc, german_telecom, off_topic_docs, telecom_text

from telecom_etl.filters.language import LanguageFilter, sample_text
from telecom_etl.filters.relevance import TelecomKeywords, keyword_density, keyword_matches, parse_terms


def test_language_sets_code_and_confidence_and_drops_other_languages():
    f = LanguageFilter(allowed=["en"], min_score=0.65)
    f.setup()
    en = doc(telecom_text())
    assert f.apply(en) is None
    assert en.lang == "en" and 0.9 < en.lang_score <= 1.0
    de = doc(german_telecom())
    dropped = f.apply(de)
    assert dropped.rule == "language.not_allowed" and de.lang == "de" and "de (" in dropped.detail
    assert LanguageFilter(allowed=["en", "de"]).apply(doc(german_telecom())) is None
    assert LanguageFilter(allowed=None).apply(doc(german_telecom())) is None


def test_language_skips_code_and_judges_prose_only():
    f = LanguageFilter()
    code = doc("def f(x):\n    return x + 1\n", kind="code")
    assert f.apply(code) is None and code.lang is None
    # a spec whose tables and ASN.1 dwarf its prose is still judged by the prose
    table = "\n".join(f"| srs-Config{i} | 0..{i} | OPTIONAL |" for i in range(200))
    spec = doc(telecom_text(3) + "\n\n" + table, kind="3gpp")
    assert f.apply(spec) is None and spec.lang == "en"
    # a record that is only a table is identified by its raw text, not dropped
    only_table = doc("| Information element | Presence | Format |\n" + "\n".join(
        f"| Protocol configuration options {i} | optional | TLV-E |" for i in range(20)), kind="3gpp")
    assert f.apply(only_table) is None and only_table.lang == "en"


def test_language_samples_long_documents_from_several_places():
    text = "a" * 5000 + "b" * 5000 + "c" * 5000
    s = sample_text(text, window=1000, windows=3)
    assert len(s) == 3002 and s.startswith("a") and "b" in s and s.endswith("c")
    assert sample_text("short", 1000, 3) == "short"


def test_keyword_density_longest_match_and_case_rules():
    terms = parse_terms(["# comment", "NR", "gNB", "random access", "physical downlink control channel",
                         "downlink", "handover"])
    n, covered, found = keyword_matches("The gNB sends the Physical Downlink Control Channel. Handover!", terms)
    assert n == 9 and covered == 6  # gNB (1) + PDCCH phrase counted once as 4 words + Handover (1)
    assert ("physical", "downlink", "control", "channel") in found and ("downlink",) not in found
    # abbreviations are case-sensitive: "nr" (e.g. "nr of items") is not New Radio
    assert keyword_matches("nr of items", terms)[1] == 0 and keyword_matches("NR cells", terms)[1] == 1


def test_bundled_term_list_separates_telecom_from_other_text():
    density, distinct = keyword_density(telecom_text())
    assert density > 0.05 and distinct >= 15
    for name, text in off_topic_docs(5):
        d, k = keyword_density(text)
        assert d < 0.01, (name, d)
    f = TelecomKeywords(min_density=0.01, min_distinct=3)
    good = doc(telecom_text())
    assert f.apply(good) is None and good.scores["telecom_keywords"] > 0.05
    spam = doc("LTE LTE LTE best price " * 30)
    assert f.apply(spam).rule == "telecom_keywords.few_terms"
    assert f.apply(doc(TELECOM_PROSE[0].replace("gNB", "server").replace("UE", "client")
                       .replace("downlink", "").replace("bandwidth parts", "pages").replace("bandwidth part", "page")
                       .replace("RRC reconfiguration", "restart"))).rule.startswith("telecom_keywords.")
