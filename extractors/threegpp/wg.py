"""Responsible working group of a 3GPP spec, from its series and number.

The radio series (25 UTRA, 36 LTE, 37 multi-RAT, 38 NR) split by the hundreds digit
(1xx RAN4 radio performance, 2xx RAN1 physical layer, 3xx RAN2 radio protocols, 4xx RAN3
RAN architecture and interfaces, 5xx RAN5 conformance testing). Other series belong to one
group, with a few numbers of the 29 series (policy and charging) that CT3 owns rather
than CT4. TRs (xx.8xx/xx.9xx) of a radio series are labelled by their TSG (``RAN``)
because any group of the TSG may own them. Unknown -> None, never a guess.
"""
from __future__ import annotations

from typing import Optional

_RADIO = {"1": "RAN4", "2": "RAN1", "3": "RAN2", "4": "RAN3", "5": "RAN5"}
_RADIO_SERIES = {"25", "36", "37", "38"}

_SERIES = {
    "21": "SA",  # requirements and vocabulary (TR 21.905): TSG SA plenary
    "22": "SA1",
    "23": "SA2",
    "24": "CT1",
    "26": "SA4",
    "27": "CT1",
    "28": "SA5",
    "29": "CT4",
    "31": "CT6",
    "32": "SA5",
    "33": "SA3",
    "34": "RAN5",
    "35": "SA3",
    "43": "GERAN", "44": "GERAN", "45": "GERAN", "46": "GERAN", "48": "GERAN", "51": "GERAN",
}

# 29-series specs owned by CT3 (policy, charging, exposure and interworking with packet data networks)
_CT3 = {
    "29.061", "29.161", "29.162", "29.163", "29.212", "29.213", "29.214", "29.215", "29.217", "29.219",
    "29.122", "29.154", "29.155", "29.250", "29.251", "29.507", "29.508", "29.512", "29.513", "29.514",
    "29.517", "29.519", "29.520", "29.521", "29.522", "29.523", "29.525", "29.551", "29.554", "29.591",
}
# the exceptions in the 23 series: stage 2 owned by CT groups
_OVERRIDES = {"23.040": "CT1", "23.041": "CT1", "23.122": "CT1", "23.003": "CT4", "23.007": "CT4",
              "23.008": "CT4", "23.012": "CT4", "23.015": "CT4", "23.018": "CT4"}


def working_group(number: Optional[str]) -> Optional[str]:
    """``38.331`` -> ``RAN2``; ``29.274`` -> ``CT4``; ``38.913`` -> ``RAN``; unknown -> None."""
    if not number or len(number) < 6 or number[2] != ".":
        return None
    base = number.split("-")[0]
    if base in _OVERRIDES:
        return _OVERRIDES[base]
    series, hundreds = base[:2], base[3]
    if series in _RADIO_SERIES:
        return _RADIO.get(hundreds, "RAN")
    if series == "29" and base in _CT3:
        return "CT3"
    return _SERIES.get(series)
