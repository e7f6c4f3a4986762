"""Personal data in prose: e-mail addresses and phone numbers removed from a record's text.

Papers carry their authors' e-mail addresses (``li@dsp.ufl.edu``, brace lists such as
``{a.b, c.d}@kit.edu``) and sometimes phone and fax numbers in their front matter and footnotes;
they are no training text and are personal data. :func:`redact_pii` removes them with the label
in front ("E-mail:", "Phone:"), and says how many it removed (a brace list counts each address).

The paper source runs it on every paper by default (``options: {pii: false}`` turns it off for a
source); for any other source, the ``pii`` filter does the same in a filter profile. The filter
never drops a record: it rewrites the text, counts what it removed (``extra.pii_emails``,
``extra.pii_phones``) and flags the record ``pii_redacted``.
"""
from __future__ import annotations

import re
from typing import Dict, Tuple

from telecom_etl.filters.base import Filter
from telecom_etl.registry import FILTERS

_LABEL = r"(?:(?:e-?mails?|emails?|contact|corresponding author)\s*[:.]?\s*)?"
# (a label may hold a lost glyph: "li@dsp.u\ufffd.edu" is still an address)
_DOMAIN = r"@\s?[\w\ufffd](?:[\w\ufffd-]*[\w\ufffd])?(?:\.[\w\ufffd-]+)*\.[A-Za-z]{2,}"
# "{a, b, c}@kit.edu" (a brace list of local parts) before the plain form
EMAIL = re.compile(_LABEL + r"(?:\{[^{}@\n]{1,300}\}|[A-Za-z0-9._%+\-\u2019']+)\s?" + _DOMAIN + r"\.?", re.I)
_PHONE_LABEL = r"(?:phone|tel(?:ephone)?|fax|mobile|mob|cell)\.?\s*(?:no\.?\s*)?[:.]?\s*"
_DIGITS = r"\+?\(?\d[\d\s().\-/]{6,20}\d"
# a number after a phone label, or written internationally (+CC and at least eight digits)
PHONE = re.compile(r"(?:" + _PHONE_LABEL + _DIGITS + r"|\+\d{1,3}[\s.\-]?\(?\d[\d\s().\-]{6,18}\d)", re.I)


def redact_pii(text: str, emails: bool = True, phones: bool = True) -> Tuple[str, Dict[str, int]]:
    """``text`` without e-mail addresses and phone numbers, and how many of each were removed."""
    counts = {"emails": 0, "phones": 0}
    if emails and "@" in text:
        def email(m: re.Match) -> str:  # a brace list "{a, b, c}@kit.edu" is as many addresses as local parts
            local = m.group(0).split("@", 1)[0]
            braced = local[local.find("{") + 1:local.rfind("}")] if "{" in local else ""
            counts["emails"] += max(1, len([p for p in re.split(r"[,;|]", braced) if p.strip()]))
            return ""
        text = EMAIL.sub(email, text)
    if phones and any(ch.isdigit() for ch in text):
        def phone(m: re.Match) -> str:
            if sum(ch.isdigit() for ch in m.group(0)) < 7:  # a label followed by a short number: not a phone
                return m.group(0)
            counts["phones"] += 1
            return ""
        text = PHONE.sub(phone, text)
    if counts["emails"] or counts["phones"]:
        text = re.sub(r"[ \t]{2,}", " ", text)
        text = re.sub(r" +([.,;])", r"\1", text)
    return text, counts


@FILTERS.register("pii")
class PIIFilter(Filter):
    """Remove e-mail addresses and phone numbers from the text (never drops the record)."""

    registry_name = "pii"

    def __init__(self, emails: bool = True, phones: bool = True):
        if not isinstance(emails, bool) or not isinstance(phones, bool):
            raise ValueError("pii: emails and phones must be true or false")
        self.emails, self.phones = emails, phones

    def filter(self, doc):
        text, counts = redact_pii(doc.text, self.emails, self.phones)
        if counts["emails"] or counts["phones"]:
            from telecom_etl.record import content_hash

            doc.text = text
            if doc.content_hash is not None:
                doc.content_hash = content_hash(text)
            doc.extra["pii_emails"] = str(int(doc.extra.get("pii_emails", 0)) + counts["emails"])
            doc.extra["pii_phones"] = str(int(doc.extra.get("pii_phones", 0)) + counts["phones"])
            if "pii_redacted" not in doc.flags:
                doc.flags.append("pii_redacted")
        return None
