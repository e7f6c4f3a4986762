"""The run report: what every stage kept, dropped (by rule) and failed, per source.

Built by the driver after the pipeline finishes, from the accounting events the
pipeline wrote to ``OUT/_stats/stats.json`` and from the Parquet footers of the shards
actually written. It checks that the counts add up: each document stage's input equals
the previous stage's kept output, and the rows in ``pretrain/`` equal the last stage's
kept count. ``report.json`` is written next to the shards; :func:`summary` is the text
printed at the end of a run.
"""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Dict, List, Optional

import pyarrow.parquet as pq

from telecom_etl import __version__, io

STAGE_UNITS = {"list": "sources", "extract": "files", "extract_parts": "parts"}


def _blank():
    return {"in": 0, "kept": 0, "dropped": 0, "failed": 0, "chars_in": 0, "tokens_in": 0,
            "chars_kept": 0, "tokens_kept": 0, "dropped_by_rule": {}, "failed_by_error": {}, "examples": {}}


def aggregate(events: List[dict]) -> Dict[str, dict]:
    """stage -> totals plus ``by_source`` -> source -> totals."""
    stages: Dict[str, dict] = {}
    for ev in events:
        stage, unit, source, outcome, rule = ev["key"]
        st = stages.setdefault(stage, {**_blank(), "unit": unit, "by_source": {}})
        for bucket in (st, st["by_source"].setdefault(source, _blank())):
            bucket["in"] += ev["n"]
            bucket[outcome] += ev["n"]
            bucket["chars_in"] += ev["chars"]
            bucket["tokens_in"] += ev["tokens"]
            if outcome == "kept":
                bucket["chars_kept"] += ev["chars"]
                bucket["tokens_kept"] += ev["tokens"]
            elif outcome == "dropped":
                bucket["dropped_by_rule"][rule] = bucket["dropped_by_rule"].get(rule, 0) + ev["n"]
                ex = bucket["examples"].setdefault(rule, [])
                bucket["examples"][rule] = sorted(set(ex) | set(ev["examples"]))[:3]
            elif outcome == "failed":
                bucket["failed_by_error"][rule] = bucket["failed_by_error"].get(rule, 0) + ev["n"]
                ex = bucket["examples"].setdefault("failed:" + rule, [])
                bucket["examples"]["failed:" + rule] = sorted(set(ex) | set(ev["examples"]))[:3]
    for st in stages.values():
        if st.get("unit") == "files" or st.get("unit") == "sources" or st.get("unit") == "parts":
            for b in [st, *st["by_source"].values()]:
                for k in ("chars_in", "tokens_in", "chars_kept", "tokens_kept"):
                    b.pop(k, None)
    return stages


def shard_rows(folder: str) -> Dict[str, int]:
    """Rows per Parquet shard actually present in ``folder`` (read from the footers)."""
    out = {}
    for path in io.match(io.join(folder, "*.parquet")):
        if io.has_scheme(path):
            from apache_beam.io.filesystems import FileSystems

            with FileSystems.open(path) as fh:
                out[path] = pq.ParquetFile(fh).metadata.num_rows
        else:
            out[path] = pq.ParquetFile(path).metadata.num_rows
    return out


def build_report(output: str, doc_stages: List[str], manifest_path: Optional[str] = None,
                 manifest_digest: Optional[str] = None, extra: Optional[dict] = None,
                 rows_folder: str = "pretrain") -> dict:
    with open_text(io.join(output, "_stats", "stats.json")) as text:
        events = json.loads(text)
    stages = aggregate(events)
    checks = []
    present = [s for s in doc_stages if s in stages or s == doc_stages[0]]
    for prev, cur in zip(present, present[1:]):
        expected = stages.get(prev, _blank())["kept"]
        got = stages.get(cur, _blank())["in"]
        checks.append({"check": f"{cur}.in == {prev}.kept", "ok": expected == got, "left": got, "right": expected})
    for name, st in stages.items():
        total = st["kept"] + st["dropped"] + st["failed"]
        checks.append({"check": f"{name}: in == kept + dropped + failed", "ok": total == st["in"],
                       "left": st["in"], "right": total})
    last = stages.get(present[-1], _blank())["kept"] if present else 0
    rows = shard_rows(io.join(output, rows_folder))
    checks.append({"check": f"rows in {rows_folder}/ == last stage kept", "ok": sum(rows.values()) == last,
                   "left": sum(rows.values()), "right": last})
    extract = stages.get("extract", _blank())
    extract_docs = stages.get("extract_docs", _blank())
    final = stages.get(present[-1], _blank()) if present else _blank()
    report = {
        "toolkit": "telecom-etl", "version": __version__,
        "manifest": manifest_path, "manifest_digest": manifest_digest,
        "output": output,
        "totals": {
            "files_in": extract["in"], "files_failed": extract["failed"], "files_dropped": extract["dropped"],
            "docs_extracted": extract_docs["kept"], "docs_out": last,
            "chars_out": final.get("chars_kept", 0), "tokens_out": final.get("tokens_kept", 0),
            "rejects": sum(st["failed"] for st in stages.values()),
        },
        "doc_stages": present,
        "stages": stages,
        "shards": {p.rsplit("/", 1)[-1]: n for p, n in sorted(rows.items())},
        "checks": checks,
        "balanced": all(c["ok"] for c in checks),
    }
    if extra:
        report.update(extra)
    return report


class open_text:
    def __init__(self, path: str):
        self.path = path

    def __enter__(self) -> str:
        return io.read_bytes(self.path).decode("utf-8")

    def __exit__(self, *exc):
        return False


def write_report(output: str, report: dict) -> str:
    path = io.join(output, "report.json")
    io.write_bytes_atomic(path, json.dumps(report, indent=2, sort_keys=True).encode())
    return path


def _fmt(n: int) -> str:
    return f"{n:,}"


def summary(report: dict) -> str:
    """A short human-readable table of the run."""
    lines = []
    t = report["totals"]
    lines.append(f"telecom-etl build-pretrain: {_fmt(t['files_in'])} files -> {_fmt(t['docs_out'])} documents, "
                 f"{_fmt(t['chars_out'])} chars, ~{_fmt(t['tokens_out'])} tokens; {_fmt(t['rejects'])} rejects")
    lines.append(f"{'stage':<14}{'unit':<8}{'in':>9}{'kept':>9}{'dropped':>9}{'failed':>8}  top reasons")
    order = ["list", "extract", "extract_parts"] + list(report["doc_stages"])
    for name in order:
        st = report["stages"].get(name)
        if not st:
            continue
        reasons = sorted(st["dropped_by_rule"].items(), key=lambda kv: (-kv[1], kv[0]))
        reasons += sorted(((f"FAILED {k}", v) for k, v in st["failed_by_error"].items()), key=lambda kv: -kv[1])
        why = ", ".join(f"{k}={v}" for k, v in reasons[:4])
        lines.append(f"{name:<14}{st['unit']:<8}{st['in']:>9}{st['kept']:>9}{st['dropped']:>9}{st['failed']:>8}  {why}")
    per_source = defaultdict(int)
    last = report["doc_stages"][-1] if report["doc_stages"] else None
    if last and last in report["stages"]:
        for src, b in report["stages"][last]["by_source"].items():
            per_source[src] = b["kept"]
    if per_source:
        lines.append("kept per source: " + ", ".join(f"{k}={v}" for k, v in sorted(per_source.items())))
    for d in report.get("dedup") or []:
        if isinstance(d, dict) and d.get("stage"):
            lines.append(f"{d['stage']}: {d.get('clusters', 0)} clusters, {d.get('removed', 0)} records removed "
                         f"(threshold {d.get('params', {}).get('threshold')}, {d.get('params', {}).get('ngram')}-word "
                         f"shingles, {d.get('params', {}).get('num_perm')} permutations)")
    decon = report.get("decontamination")
    if decon and decon.get("documents"):
        acted = ", ".join(f"{n} {a}" for a, n in sorted((decon.get("by_action") or {}).items()))
        redacted = (f"; {decon['spans_redacted']} spans, {_fmt(decon['chars_redacted'])} chars redacted"
                    if decon.get("chars_redacted") else "")
        lines.append(f"decontamination: {decon['documents']} documents contain {decon['benchmark_items']} benchmark "
                     f"items ({acted}{redacted}), e.g. {', '.join(list(decon['items'])[:3])}")
    pii = report.get("pii")
    if pii and pii.get("records"):
        lines.append(f"pii: {_fmt(pii['records'])} records redacted, {_fmt(pii['emails'])} e-mail addresses and "
                     f"{_fmt(pii['phones'])} phone numbers removed ("
                     + ", ".join(f"{src}: {_fmt(b['records'])}/{_fmt(b['emails'])}/{_fmt(b['phones'])}"
                                 for src, b in sorted(pii["by_source"].items())) + " records/e-mails/phones)")
    for note in report.get("notes", []):
        lines.append(f"note: {note}")
    bad = [c for c in report["checks"] if not c["ok"]]
    lines.append("accounting: all counts add up" if not bad else
                 "accounting: MISMATCH " + "; ".join(f"{c['check']} ({c['left']} vs {c['right']})" for c in bad))
    return "\n".join(lines)


def _commonest_error(output: str, stage: str) -> Optional[tuple]:
    """(error line, count) most frequent among ``stage``'s failures, if readable: in ``OUT/rejects/``
    (build-pretrain, synth-preferences) or ``OUT/failed/`` (synth-instructions, whose rejects/
    holds rejected pairs)."""
    from collections import Counter

    counts: Counter = Counter()
    paths = [p for folder in ("rejects", "failed") for p in io.match(io.join(output, folder, "*.parquet"))]
    for path in paths:
        try:
            if io.has_scheme(path):
                from apache_beam.io.filesystems import FileSystems

                with FileSystems.open(path) as fh:
                    table = pq.read_table(fh, columns=["stage", "error"])
            else:
                table = pq.read_table(path, columns=["stage", "error"])
        except (OSError, ValueError, KeyError):
            continue
        for row_stage, error in zip(table.column("stage").to_pylist(), table.column("error").to_pylist()):
            if row_stage == stage:
                counts[error or ""] += 1
    if not counts:
        return None
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def failed_everything(report: dict, output: Optional[str] = None) -> Optional[str]:
    """One line when a stage failed every record it was given (the run produced nothing useful), else None.

    Names the first such stage in pipeline order and its commonest error (the full error line
    from ``OUT/rejects/`` or ``OUT/failed/`` when ``output`` is given, else the error class counted in
    the report).
    """
    stages = report.get("stages") or {}
    order = ["list", "extract", "extract_parts"] + list(report.get("doc_stages") or [])
    order += sorted(s for s in stages if s not in order)
    for name in order:
        st = stages.get(name)
        if not st or not st.get("in") or st.get("failed") != st.get("in"):
            continue
        commonest = _commonest_error(output, name) if output else None
        if commonest is None and st.get("failed_by_error"):
            commonest = min(st["failed_by_error"].items(), key=lambda kv: (-kv[1], kv[0]))
        error = f"{commonest[0]} ({_fmt(commonest[1])} of {_fmt(st['in'])})" if commonest else "unknown error"
        return (f"stage {name} failed every record ({_fmt(st['in'])} {st.get('unit') or 'records'}); "
                f"commonest error: {error}")
    return None
