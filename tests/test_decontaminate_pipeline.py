"""build-pretrain with benchmark decontamination end to end (real Beam pipeline): a long record
with planted TeleQnA questions is kept with only those sentences cut out, a short one is
dropped, the report and the dataset card say so; a run whose stage fails every record exits
non-zero with one line naming the stage and its commonest error."""
from __future__ import annotations

import glob
import json
import os

import pyarrow.parquet as pq
from click.testing import CliRunner
from conftest import corpus_file
from test_filters_heuristics import TELECOM_PROSE

from telecom_etl.cli import main
from telecom_etl.filters.decontaminate import tokens


def _questions(k_long=2):
    with open(corpus_file("qa", "TeleQnA_sample300.json"), encoding="utf-8") as fh:
        data = json.load(fh)
    longs = [(key, it["question"]) for key, it in data.items() if len(tokens(it["question"])) >= 16][:k_long]
    short = next((key, it["question"]) for key, it in data.items() if len(tokens(it["question"])) <= 6)
    return longs, short


def test_build_redacts_long_records_drops_short_ones_and_reports_both(tmp_path):
    (long_a, q_a), (long_b, q_b) = _questions()[0]
    short_key, q_short = _questions()[1]
    web = tmp_path / "web"
    web.mkdir()
    prose = " ".join(TELECOM_PROSE)
    clean_long = "\n\n".join(f"{prose} Paragraph {i} ends here." for i in range(8))
    at = clean_long.index("Paragraph 3")  # a sentence boundary: planted text goes in as whole sentences
    planted = clean_long[:at] + q_a + " " + q_short + " " + clean_long[at:] + "\n\n" + q_b
    (web / "long.txt").write_text(planted)
    (web / "short.txt").write_text(TELECOM_PROSE[0] + "\n\n" + q_b)
    (web / "clean.txt").write_text(TELECOM_PROSE[1] + " " + TELECOM_PROSE[2])
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"""
sources: [{{name: web, kind: text, paths: [web]}}]
filters:
  profiles:
    default: [{{name: decontaminate, benchmarks: [{corpus_file('qa', 'TeleQnA_sample300.json')}]}}]
dedup: {{near: false}}
""")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build-pretrain", "--no-progress", "-m", str(manifest), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "decontamination: 2 documents contain 3 benchmark items (1 dropped, 1 redacted; 2 spans" in result.output

    kept = {os.path.basename(r["uri"]): r for r in pq.read_table(glob.glob(str(out / "pretrain" / "*.parquet")))
            .to_pylist()}
    assert sorted(kept) == ["clean.txt", "long.txt"]
    assert kept["long.txt"]["text"] == clean_long + "\n\n"  # only the planted sentences went
    extra = {e["key"]: e["value"] for e in kept["long.txt"]["extra"]}
    assert extra["benchmark_matches"] == ",".join(sorted(f"TeleQnA_sample300:{k}" for k in (long_a, long_b,
                                                                                             short_key)))
    spans = [tuple(map(int, s.split("-"))) for s in extra["benchmark_redacted"].split(",")]
    assert [planted[a:b] for a, b in spans] == [q_a + " " + q_short + " ", q_b]
    dropped = pq.read_table(glob.glob(str(out / "dropped" / "*.parquet"))).to_pylist()
    assert [(os.path.basename(r["uri"]), r["drop_rule"]) for r in dropped] == [
        ("short.txt", "decontaminate.TeleQnA_sample300")]

    report = json.loads((out / "report.json").read_text())
    decon = report["decontamination"]
    assert decon["by_action"] == {"dropped": 1, "redacted": 1}
    assert decon["chars_redacted"] == sum(b - a for a, b in spans) and decon["spans_redacted"] == 2
    card = (out / "README.md").read_text()
    assert "## Benchmark decontamination" in card and "1 redacted" in card


def test_a_stage_that_fails_every_record_exits_non_zero_with_one_line(tmp_path):
    (tmp_path / "in").mkdir()
    for name in ("a.pdf", "b.pdf"):  # PDF magic, no PDF behind it: every file fails extraction
        (tmp_path / "in" / name).write_bytes(b"%PDF-1.4\nnot really a pdf\n")
    manifest = tmp_path / "m.yaml"
    manifest.write_text("sources: [{name: p, kind: paper, paths: [in]}]\ndedup: {near: false}\n")
    result = CliRunner().invoke(main, ["build-pretrain", "--no-progress", "-m", str(manifest),
                                       "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("telecom-etl: error:")]
    assert len(lines) == 1
    assert lines[0].startswith("telecom-etl: error: stage extract failed every record (2 files); "
                               "commonest error: corrupt PDF")
    assert lines[0].endswith("(2 of 2)")
