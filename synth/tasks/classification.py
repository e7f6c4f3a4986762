"""3GPP working-group and series classification: which group wrote this passage?

The label is ground truth from the record's metadata (``working_group``, ``spec_series``
set by the 3GPP extractor from the spec number), never from a model, so the task runs
offline. A passage yields one working-group question when the group is known and one
series question when the series is known (TelecomGPT's classification family).
"""
from __future__ import annotations

from typing import List

from telecom_etl.synth.tasks.base import Pair, Task, variant

SERIES = {
    "21": "requirements and vocabulary", "22": "service aspects (stage 1)", "23": "technical realization (stage 2)",
    "24": "signalling protocols, user equipment to network (stage 3)", "25": "UTRA radio aspects",
    "26": "codecs and media", "27": "data", "28": "management and orchestration (5G)",
    "29": "signalling protocols, core network (stage 3)", "31": "subscriber identity module (SIM/USIM)",
    "32": "operation, administration, maintenance and charging", "33": "security aspects",
    "34": "UE and (U)SIM test specifications", "35": "security algorithms", "36": "LTE (E-UTRA) radio technology",
    "37": "multiple radio access technology aspects", "38": "NR (5G) radio technology",
}

WG_NAMES = {
    "RAN1": "TSG RAN WG1 (radio layer 1, physical layer)", "RAN2": "TSG RAN WG2 (radio layers 2 and 3)",
    "RAN3": "TSG RAN WG3 (RAN architecture and interfaces)", "RAN4": "TSG RAN WG4 (radio performance and protocol aspects)",
    "RAN5": "TSG RAN WG5 (mobile terminal conformance testing)", "SA1": "TSG SA WG1 (services)",
    "SA2": "TSG SA WG2 (system architecture)", "SA3": "TSG SA WG3 (security and privacy)",
    "SA4": "TSG SA WG4 (multimedia codecs, systems and services)", "SA5": "TSG SA WG5 (management, orchestration and charging)",
    "SA6": "TSG SA WG6 (application enablement)", "CT1": "TSG CT WG1 (UE-core network protocols)",
    "CT3": "TSG CT WG3 (interworking with external networks, policy)", "CT4": "TSG CT WG4 (core network protocols)",
    "CT6": "TSG CT WG6 (smart card application aspects)", "RAN": "TSG RAN", "SA": "TSG SA", "CT": "TSG CT",
}

MAX_PASSAGE = 2500


class WorkingGroupClassification(Task):
    name = "wg_classification"
    family = "3GPP working group / series classification"
    version = "1"
    needs_teacher = False
    kinds = ("3gpp",)

    def applies(self, passage) -> bool:
        if not super().applies(passage):
            return False
        # mostly tables or equations: too little prose to classify by
        markup = sum(len(line) for line in passage.text.split("\n") if line.lstrip().startswith(("|", "$$", "```")))
        return markup <= len(passage.text) / 2

    def offline(self, passage) -> List[Pair]:
        meta = passage.meta
        text = passage.text[:MAX_PASSAGE]
        pairs = []
        wg = meta.get("working_group")
        if wg:
            ask = variant(passage.id + "wg", [
                "Which 3GPP working group is responsible for the specification this text comes from?",
                "Classify the following 3GPP specification text by the working group that maintains it.",
                "Identify the 3GPP working group that wrote the following specification text.",
            ])
            spec = f"3GPP {meta.get('spec_type') or 'TS'} {meta['spec_number']}" if meta.get("spec_number") else "it"
            response = f"{wg}. The text is from {spec}, which is maintained by {WG_NAMES.get(wg, wg)}."
            pairs.append(self.pair(passage, f"{ask}\n\n{text}", response, n=0,
                                   fields={"label": wg, "label_type": "working_group"}))
        series = meta.get("spec_series")
        if series:
            ask = variant(passage.id + "series", [
                "Which 3GPP specification series does the following text belong to?",
                "Classify this 3GPP text by its specification series (e.g. 23, 24, 38).",
            ])
            topic = SERIES.get(series)
            response = f"The {series} series" + (f" ({topic})." if topic else ".")
            if meta.get("spec_number"):
                response += f" The text is from 3GPP {meta.get('spec_type') or 'TS'} {meta['spec_number']}."
            pairs.append(self.pair(passage, f"{ask}\n\n{text}", response, n=1,
                                   fields={"label": series, "label_type": "spec_series"}))
        return pairs
