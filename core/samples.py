"""Generators of small, realistic sample inputs (used by the bundled sample and the tests).

* :func:`make_spec_docx`: a 3GPP-style Word spec: cover fields in a table, Contents,
  Foreword, clause headings (``Heading 1..3`` styles, numbered titles), definitions
  and abbreviations (styles ``EW``/``EX`` as in real specs), an ASN.1 block (style
  ``PL``), a table with a header row, and a Change history annex.
* :func:`make_paper_pdf`: a two-column IEEE-style paper with a running header, page
  numbers, section headings and a References section.
* :func:`make_code_tree`: a tiny telecom code folder with a LICENSE file.

Everything is written by this code, so the repository ships no third-party document.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional, Sequence, Tuple

Clause = Tuple[str, str, List[str]]  # (number, title, paragraphs)

DEFAULT_CLAUSES: List[Clause] = [
    ("1", "Scope", [
        "The present document specifies the Radio Resource Control (RRC) procedures for the sample radio "
        "access technology between the User Equipment (UE) and the next generation Node B (gNB).",
        "It covers connection establishment, reconfiguration and release, and the information elements "
        "carried in the corresponding messages over the Uu interface.",
    ]),
    ("2", "References", [
        "The following documents contain provisions which, through reference in this text, constitute "
        "provisions of the present document.",
        "[1] 3GPP TR 21.905: \"Vocabulary for 3GPP Specifications\".",
    ]),
    ("3", "Definitions, symbols and abbreviations", []),
    ("3.1", "Definitions", []),
    ("3.2", "Abbreviations", []),
    ("4", "General", [
        "The UE shall maintain at most one RRC connection at a time. The network controls the UE through "
        "dedicated signalling on SRB1 and SRB2, while system information is broadcast on the BCCH.",
    ]),
    ("5", "Procedures", []),
    ("5.1", "RRC connection establishment", [
        "The purpose of this procedure is to establish an RRC connection. The UE initiates the procedure "
        "when upper layers request the establishment of a signalling connection while the UE is in "
        "RRC_IDLE. Upon receiving the RRCSetup message the UE shall apply the radio bearer configuration "
        "and enter RRC_CONNECTED.",
        "If timer T300 expires before the RRCSetup message is received, the UE shall inform upper layers "
        "about the failure to establish the RRC connection.",
    ]),
    ("5.2", "RRC reconfiguration", [
        "The purpose of this procedure is to modify an RRC connection, e.g. to establish or modify radio "
        "bearers, to perform reconfiguration with sync, or to set up and release measurements.",
    ]),
    ("6", "Protocol data units", [
        "This clause specifies the ASN.1 definitions of the RRC messages.",
    ]),
]

DEFINITIONS = [("cell", "a radio network object that can be uniquely identified by a UE from a "
                        "(cell) identification that is broadcast over a geographical area from one access point")]
ABBREVIATIONS = [("gNB", "next generation Node B"), ("RRC", "Radio Resource Control"), ("UE", "User Equipment"),
                 ("SRB", "Signalling Radio Bearer")]
ASN1 = """RRCSetup ::= SEQUENCE {
    rrc-TransactionIdentifier    RRC-TransactionIdentifier,
    criticalExtensions           CHOICE {
        rrcSetup                     RRCSetup-IEs,
        criticalExtensionsFuture     SEQUENCE {}
    }
}"""
TABLE = [["Timer", "Start", "Stop", "At expiry"],
         ["T300", "Transmission of RRCSetupRequest", "Reception of RRCSetup or RRCReject", "Inform upper layers"],
         ["T301", "Transmission of RRCReestabilshmentRequest", "Reception of RRCReestablishment", "Go to RRC_IDLE"]]


def _style(document, name: str, base: str = "Normal"):
    from docx.enum.style import WD_STYLE_TYPE

    styles = document.styles
    try:
        return styles[name]
    except KeyError:
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = styles[base]
        return style


def make_spec_docx(path: str, spec: str = "38.999", version: str = "18.1.0", date: str = "2024-03",
                   title: str = "NR; Sample Radio Resource Control (RRC); Protocol specification",
                   spec_type: str = "TS", clauses: Optional[Sequence[Clause]] = None,
                   cover_in_table: bool = True) -> str:
    """Write a 3GPP-style .docx spec to ``path`` and return the path."""
    import docx

    document = docx.Document()
    for name in ("EW", "EX", "PL", "TH", "TAH", "TAL", "ZA", "ZT", "TT"):
        _style(document, name)
    cover = f"3GPP {spec_type} {spec} V{version} ({date})"
    if cover_in_table:
        table = document.add_table(rows=2, cols=1)
        table.cell(0, 0).paragraphs[0].text = cover
        table.cell(0, 0).paragraphs[0].style = document.styles["ZA"]
        table.cell(1, 0).paragraphs[0].text = "Technical Specification"
    else:
        document.add_paragraph(cover, style="ZA")
    document.add_paragraph("3rd Generation Partnership Project;", style="ZT")
    document.add_paragraph(f"Technical Specification Group Radio Access Network; {title} (Release "
                           f"{version.split('.')[0]})", style="ZT")
    document.add_paragraph("3GPP", style="Normal")
    document.add_paragraph("Postal address", style="Normal")
    document.add_paragraph("3GPP support office address", style="Normal")
    document.add_paragraph("Copyright Notification", style="Normal")
    document.add_paragraph("No part may be reproduced except as authorized by written permission.", style="Normal")
    document.add_paragraph("Contents", style="TT")
    for number, heading, _ in (clauses or DEFAULT_CLAUSES):
        document.add_paragraph(f"{number}\t{heading}\t5", style="Normal")
    document.add_heading("Foreword", level=1)
    document.add_paragraph("This Technical Specification has been produced by the 3rd Generation Partnership "
                           "Project (3GPP).")
    document.add_paragraph("The contents of the present document are subject to continuing work within the TSG "
                           "and may change following formal TSG approval.")
    for number, heading, paragraphs in (clauses or DEFAULT_CLAUSES):
        level = min(number.count(".") + 1, 9)
        document.add_heading(f"{number}\t{heading}", level=level)
        for text in paragraphs:
            document.add_paragraph(text)
        if clauses is None and number == "3.1":
            for term, meaning in DEFINITIONS:
                p = document.add_paragraph(style="Normal")
                p.add_run(term + ":").bold = True
                p.add_run(" " + meaning + ".")
        if clauses is None and number == "3.2":
            document.add_paragraph("For the purposes of the present document, the following abbreviations apply:")
            for abbr, meaning in ABBREVIATIONS:
                document.add_paragraph(f"{abbr}\t{meaning}", style="EW")
        if clauses is None and number == "5.1":
            document.add_paragraph("Table 5.1-1: Timers", style="TH")
            table = document.add_table(rows=len(TABLE), cols=len(TABLE[0]))
            table.style = document.styles["Table Grid"]
            for r, row in enumerate(TABLE):
                for c, value in enumerate(row):
                    table.cell(r, c).paragraphs[0].text = value
                    table.cell(r, c).paragraphs[0].style = document.styles["TAH" if r == 0 else "TAL"]
        if clauses is None and number == "6":
            for line in ASN1.splitlines():
                document.add_paragraph(line, style="PL")
    document.add_heading("Annex A (informative):\tChange history", level=1)
    table = document.add_table(rows=2, cols=4)
    for c, value in enumerate(["Date", "Meeting", "CR", "New version"]):
        table.cell(0, c).text = value
    for c, value in enumerate([date, "RAN#103", "0001", version]):
        table.cell(1, c).text = value
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    document.save(path)
    return path


PAPER_SECTIONS = [
    ("I. Introduction", "Massive multiple-input multiple-output (MIMO) is a key technology of fifth generation "
     "(5G) networks. Large antenna arrays at the base station serve many users on the same time-frequency "
     "resource and the efficiency of the spectrum grows with the number of antennas. In this paper we "
     "study the uplink of a multi-cell system with pilot contamination and derive closed-form expressions "
     "for the achievable rate under maximum-ratio combining."),
    ("II. System Model", "We consider L cells with M antennas at each base station and K single-antenna users "
     "per cell. The channel between user k in cell l and the base station of cell j is modelled as "
     "correlated Rayleigh fading with a covariance matrix that captures large-scale fading. Each coherence "
     "block carries tau pilot symbols and the remaining symbols carry uplink data."),
    ("III. Channel Estimation", "The base station estimates the channels with minimum mean-square error "
     "estimation from the received pilot signal. Users in different cells that share a pilot sequence cause "
     "pilot contamination, which limits the achievable spectral efficiency even as M grows without bound."),
    ("IV. Numerical Results", "Simulations with M = 100 antennas and K = 10 users show that the proposed "
     "pilot assignment improves the fifth-percentile rate by 35 percent compared with random assignment while "
     "the average rate is unchanged."),
    ("V. Conclusion", "We analysed pilot contamination in massive MIMO and proposed a pilot assignment that "
     "increases the rate of cell-edge users."),
]
REFERENCES = ["[1] T. L. Marzetta, \"Noncooperative cellular wireless with unlimited numbers of base station "
              "antennas,\" IEEE Trans. Wireless Commun., vol. 9, no. 11, pp. 3590-3600, 2010.",
              "[2] E. Björnson, J. Hoydis, and L. Sanguinetti, \"Massive MIMO networks,\" Found. Trends Signal "
              "Process., vol. 11, no. 3-4, pp. 154-655, 2017."]


def make_paper_pdf(path: str, title: str = "Pilot Assignment for Massive MIMO Uplink with Pilot Contamination",
                   authors: str = "A. Author and B. Author", sections: Optional[Sequence[Tuple[str, str]]] = None,
                   pages: int = 2, doi: Optional[str] = "10.1109/SAMPLE.2024.0001") -> str:
    """Write a two-column paper PDF with PyMuPDF and return the path."""
    import pymupdf as fitz

    sections = list(sections or PAPER_SECTIONS)
    doc = fitz.open()
    width, height = 612, 792
    margin, gap = 54, 18
    col_w = (width - 2 * margin - gap) / 2
    per_page = max(1, -(-len(sections) // pages))
    for p in range(pages):
        page = doc.new_page(width=width, height=height)
        page.insert_text((margin, 36), "IEEE TRANSACTIONS ON SAMPLE COMMUNICATIONS, VOL. 1, 2024", fontsize=7)
        page.insert_text((width / 2, height - 30), str(p + 1), fontsize=8)
        top = 60
        if p == 0:
            page.insert_textbox(fitz.Rect(margin, 60, width - margin, 110), title, fontsize=16, align=1)
            page.insert_textbox(fitz.Rect(margin, 112, width - margin, 130), authors, fontsize=10, align=1)
            if doi:
                page.insert_textbox(fitz.Rect(margin, 132, width - margin, 146), f"DOI: {doi}", fontsize=8, align=1)
            top = 160
        chunk = sections[p * per_page:(p + 1) * per_page]
        half = max(1, -(-len(chunk) // 2))
        for c, col in enumerate((chunk[:half], chunk[half:])):
            x0 = margin + c * (col_w + gap)
            y = top
            for heading, body in col:
                page.insert_text((x0, y + 10), heading, fontsize=10, fontname="hebo")
                y += 16
                rect = fitz.Rect(x0, y, x0 + col_w, height - 60)
                rest = page.insert_textbox(rect, body, fontsize=9)
                used = (rect.height - rest) if rest >= 0 else rect.height
                y += used + 10
        if p == pages - 1:
            y = height - 200
            page.insert_text((margin + col_w + gap, y - 4), "References", fontsize=10, fontname="hebo")
            page.insert_textbox(fitz.Rect(margin + col_w + gap, y, width - margin, height - 50),
                                "\n".join(REFERENCES), fontsize=7)
    doc.set_metadata({"title": title, "author": authors, "subject": "IEEE sample paper"})
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    doc.save(path, garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return path


CODE_FILES: Dict[str, str] = {
    "LICENSE": "MIT License\n\nCopyright (c) 2024 Sample Authors\n\nPermission is hereby granted, free of charge, "
               "to any person obtaining a copy of this software and associated documentation files (the "
               "\"Software\"), to deal in the Software without restriction, including without limitation the "
               "rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the "
               "Software.\n\nTHE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.\n",
    "rrc/timers.py": '''"""RRC timers of the sample UE (T300, T301, T310, T311)."""
from dataclasses import dataclass


@dataclass
class Timer:
    name: str
    duration_ms: int
    running: bool = False

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False


def default_timers() -> dict:
    """Default durations in milliseconds as broadcast in SIB1 ue-TimersAndConstants."""
    return {name: Timer(name, ms) for name, ms in (("T300", 1000), ("T301", 1000), ("T310", 2000),
                                                   ("T311", 3000))}
''',
    "phy/crc.c": '''/* CRC24A as used for NR transport blocks (TS 38.212 clause 5.1). */
#include <stdint.h>
#include <stddef.h>

#define CRC24A_POLY 0x864CFBu

uint32_t crc24a(const uint8_t *data, size_t len)
{
    uint32_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint32_t)data[i] << 16;
        for (int b = 0; b < 8; b++) {
            crc <<= 1;
            if (crc & 0x1000000u)
                crc ^= CRC24A_POLY;
        }
    }
    return crc & 0xFFFFFFu;
}
''',
    "README.md": "# sample-ran\n\nA tiny sample of telecom code: RRC timers and the NR CRC24A.\n",
}


def make_code_tree(root: str, files: Optional[Dict[str, str]] = None) -> str:
    for rel, text in (files or CODE_FILES).items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    return root


def make_sample(root: str) -> Dict[str, str]:
    """The bundled sample: one spec, one paper, one code tree under ``root``."""
    return {
        "spec": make_spec_docx(os.path.join(root, "specs", "38999-i10.docx")),
        "paper": make_paper_pdf(os.path.join(root, "papers", "sample-massive-mimo.pdf")),
        "code": make_code_tree(os.path.join(root, "code", "sample-ran")),
    }


if __name__ == "__main__":  # python -m telecom_etl.samples manifests/sample
    import sys

    for kind, p in make_sample(sys.argv[1] if len(sys.argv) > 1 else "manifests/sample").items():
        print(kind, p)
