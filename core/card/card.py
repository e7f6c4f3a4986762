"""The dataset card: ``OUT/README.md`` in the Hugging Face dataset-card format.

The YAML header makes ``datasets.load_dataset("OUT")`` (or the folder pushed to the
Hub) find every dataset of the folder as a config (``configs``/``data_files``, the
first primary dataset is the default) and records exact row counts
(``dataset_info.splits.num_examples``, which ``load_dataset`` verifies). The body is
built as a list of :class:`Block` s that :func:`to_markdown` and
:mod:`telecom_etl.card.html` both render, so the card and ``report.html`` always say
the same thing.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, List, Optional, Sequence

import yaml

from telecom_etl import io
from telecom_etl.card.plots import Plot
from telecom_etl.card.stats import (PLACEHOLDER_SOURCES, CardData, effective_params, human, pct, profile_users,
                                   quantiles, size_category)

#: SPDX identifiers the Hub knows (lower-cased there); anything else makes the card "other".
HUB_LICENSES = {
    "apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "isc", "unlicense", "cc0-1.0",
    "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0",
    "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0",
    "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "gpl-2.0", "gpl-3.0", "lgpl-2.1", "lgpl-3.0", "agpl-3.0", "mpl-2.0",
    "epl-2.0", "odc-by", "odbl", "pddl", "cdla-permissive-2.0", "cdla-sharing-1.0", "artistic-2.0", "bsl-1.0",
    "wtfpl", "zlib", "ecl-2.0", "postgresql", "ofl-1.1", "openrail",
}
DESCRIPTIONS = {
    "pretrain": "clean, filtered, deduplicated documents for continual pre-training",
    "sft": "synthetic instruction pairs (chat `messages`) for supervised fine-tuning",
    "preference": "synthetic preference pairs (`prompt`, `chosen`, `rejected`) for DPO-style alignment",
    "dropped": "records dropped on purpose, with `drop_stage`, `drop_rule`, `drop_detail`, `duplicate_of` (audit)",
    "dropped_inputs": "input files skipped on purpose (empty, binary, excluded), with the rule (audit)",
    "rejects": "inputs and records that failed or were rejected, with the stage and the error or reason (audit)",
    "failed": "records whose processing raised an error, with the stage and error (audit)",
    "dedup_index": "MinHash signatures of the kept records, for deduplicating a later build against this one",
}
TASK_CATEGORIES = {"pretrain": "text-generation", "sft": "text-generation", "preference": "text-generation"}
TAGS = {"pretrain": ["pretraining"], "sft": ["synthetic", "instruction-tuning", "sft"],
        "preference": ["synthetic", "preference", "dpo"]}


@dataclass
class Block:
    """One piece of the card: kind is h2, h3, p, table, img, code or details."""

    kind: str
    text: str = ""
    headers: Sequence[str] = ()
    rows: Sequence[Sequence[Any]] = ()
    plot: Optional[Plot] = None
    lang: str = ""
    children: List["Block"] = field(default_factory=list)


def _n(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not x.is_integer():
        return f"{x:,.4g}"
    return f"{int(x):,}"


def hub_license(data: CardData) -> dict:
    """The card's ``license`` keys: the sources' licences when the Hub knows them all, else ``other``."""
    names = sorted({lic for row in data.sources if not data_is_audit(data, row.dataset) for lic in row.licenses})
    ids = [n.strip().lower() for n in names]
    if ids and all(i in HUB_LICENSES for i in ids):
        return {"license": ids[0] if len(ids) == 1 else ids}
    return {"license": "other", "license_name": "mixed-per-source" if len(names) > 1 else "see-dataset-card"}


def empty_reason(rep: dict) -> str:
    """Why a run kept nothing: the first stage that kept none of what came in, with its top reasons."""
    stages = rep.get("stages") or {}
    # the synth commands' record stages first (their doc_stages list only the later ones)
    order = dict.fromkeys(["read", "read_records", "prepare", "passages", "select", "budget", "generate",
                           *(rep.get("doc_stages") or []), *stages])
    for name in order:
        st = stages.get(name)
        if not st:
            continue
        if not st.get("in"):
            return f"no record reached the `{name}` stage (the input had none)"
        if not st.get("kept"):
            why = {**(st.get("dropped_by_rule") or {}), **(st.get("failed_by_error") or {})}
            top = ", ".join(f"{k} {v:,}" for k, v in sorted(why.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
            return f"the `{name}` stage kept none of its {st['in']:,} records" + (f" ({top})" if top else "")
    return "the run produced no rows"


def data_is_audit(data: CardData, name: str) -> bool:
    return any(d.name == name and d.is_audit for d in data.datasets)


def header(data: CardData) -> dict:
    """The YAML metadata of the card, as a dict (see the Hub's dataset-card spec)."""
    meta: dict = {"pretty_name": data.title}
    meta.update(hub_license(data))
    langs = [code for code, _ in data.languages if code and len(code) in (2, 3) and code.isalpha()]
    if langs:
        meta["language"] = langs[:20]
    primary = [d for d in data.primary if d.total_rows]
    cats = sorted({TASK_CATEGORIES.get(d.name, "text-generation") for d in primary})
    if cats:
        meta["task_categories"] = cats
    tags = ["telecom", "telecom-etl"]
    kinds = sorted({k for r in data.sources for k in r.kinds})
    tags += [k for k in kinds if k not in tags] + [t for d in primary for t in TAGS.get(d.name, [])]
    meta["tags"] = list(dict.fromkeys(tags))
    if primary:
        meta["size_categories"] = [size_category(primary[0].total_rows)]
    configs, infos = [], []
    default_done = False
    for ds in data.datasets:
        # a main dataset stays a config when empty (else load_dataset(OUT) would fall back on the
        # rejects); an empty audit folder has nothing to load
        if ds.is_internal or (not ds.total_rows and ds.is_audit):
            continue
        cfg = {"config_name": ds.name}
        if not ds.is_audit and not default_done:
            cfg["default"] = True
            default_done = True
        cfg["data_files"] = [{"split": s, "path": ds.data_files(s) if len(ds.data_files(s)) > 1
                              else ds.data_files(s)[0]} for s in ds.splits]
        info = {"config_name": ds.name}
        loadable = hf_features(ds.schema)
        if loadable is not None:
            info["features"], cfg["columns"] = loadable
        configs.append(cfg)
        info.update({"splits": [{"name": s, "num_bytes": ds.data_bytes.get(s, 0), "num_examples": ds.rows[s]}
                                for s in ds.splits],
                     "download_size": ds.total_bytes})
        infos.append(info)
    if configs:
        meta["configs"] = configs
        meta["dataset_info"] = infos
    return meta


def _hf_fragment(t) -> Optional[dict]:
    """A column type in the Hub's YAML ``features`` notation, or None when 🤗 datasets
    has no equivalent (Arrow maps: ``scores``, ``extra``)."""
    import pyarrow as pa

    if pa.types.is_map(t):
        return None
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = _hf_fragment(t.value_type)
        if inner is None:
            return None
        return {"list": next(iter(inner.values())) if set(inner) in ({"dtype"}, {"struct"}) else inner}
    if pa.types.is_struct(t):
        fields = [_hf_field(t.field(i)) for i in range(t.num_fields)]
        return None if any(f is None for f in fields) else {"struct": fields}
    names = {pa.string(): "string", pa.large_string(): "large_string", pa.bool_(): "bool",
             pa.float16(): "float16", pa.float32(): "float32", pa.float64(): "float64",
             pa.date32(): "date32", pa.date64(): "date64"}
    if t in names:
        return {"dtype": names[t]}
    if pa.types.is_integer(t) or pa.types.is_timestamp(t):
        return {"dtype": str(t)}  # int8 ... uint64, timestamp[us] read the same in both
    return None


def _hf_field(f) -> Optional[dict]:
    frag = _hf_fragment(f.type)
    return None if frag is None else {"name": f.name, **frag}


def hf_features(schema) -> Optional[tuple]:
    """(features, columns) for a schema with columns 🤗 datasets cannot load (Arrow maps):
    the card then declares the loadable columns so ``load_dataset`` works, leaving the
    maps to polars/pyarrow readers. None when every column loads as it is."""
    if schema is None:
        return None
    fields = [(f.name, _hf_field(f)) for f in schema]
    if all(frag is not None for _, frag in fields):
        return None
    kept = [frag for _, frag in fields if frag is not None]
    return kept, [frag["name"] for frag in kept]


def _img(plots: dict, name: str) -> List[Block]:
    return [Block("img", plot=plots[name])] if name in plots else []


def _manifest_text(data: CardData) -> Optional[str]:
    """The manifest as written; absolute local paths in it relative to its folder, unless a
    source asks for the machine's paths (``absolute_uris: true``)."""
    import os

    from telecom_etl.uris import portable_yaml

    path = data.manifest.get("path") or data.report.get("manifest")
    if path:
        try:
            if io.exists(path):
                text = io.read_bytes(path, 1024 * 1024).decode("utf-8")
                if io.has_scheme(path) or any(isinstance(s, dict) and s.get("absolute_uris")
                                              for s in data.manifest.get("sources") or []):
                    return text
                return portable_yaml(text, os.path.dirname(os.path.abspath(path)))
        except (OSError, ValueError, UnicodeDecodeError):
            pass
    if data.manifest:
        return yaml.safe_dump({k: v for k, v in data.manifest.items() if k != "path"}, sort_keys=False)
    return None


def blocks(data: CardData, plots: Sequence[Plot]) -> List[Block]:
    """The card body, section by section; sections without data are left out."""
    pl_by = {p.name: p for p in plots}
    out: List[Block] = []
    rep = data.report
    primary = [d for d in data.primary]
    # -- headline ------------------------------------------------------------
    if data.description:
        out.append(Block("p", data.description))
    totals = ", ".join(f"**{d.name}**: {d.total_rows:,} rows" for d in primary) or "no output rows"
    tok = sum(r.tokens for r in data.sources)
    made_by = f"Built by telecom-etl {data.version}"
    if rep.get("manifest") or data.manifest.get("path"):
        made_by += f" from manifest `{rep.get('manifest') or data.manifest.get('path')}`"
    if rep.get("manifest_digest"):
        made_by += f" (digest `{rep['manifest_digest']}`)"
    if rep.get("run_id"):  # the same id is in report.json and every shard's metadata (telecom-etl inspect checks)
        made_by += f", run `{rep['run_id']}`"
    out.append(Block("p", f"{made_by}. {totals}; about {human(tok)} tokens (estimated at ~4 characters per token)."))
    totals = {k: v for k, v in (rep.get("totals") or {}).items() if _scalar(v)}
    if totals:
        out.append(Block("table", headers=list(totals), rows=[[_fact(v) for v in totals.values()]]))
    if "balanced" in rep and (rep.get("checks") or not rep["balanced"]):
        checks = rep.get("checks") or []
        out.append(Block("p", f"Accounting: all {len(checks)} checks pass (every record is kept, dropped with a "
                              f"rule, or failed with an error)." if rep["balanced"] else
                         "Accounting: **MISMATCH** - see the checks below."))
    # -- contents ------------------------------------------------------------
    out.append(Block("h2", "Contents"))
    rows = []
    for ds in data.datasets:
        for s in ds.splits:
            rows.append([f"`{ds.name}`", s, _n(ds.rows[s]), human(ds.num_bytes[s]) + "B", len(ds.splits[s]),
                         DESCRIPTIONS.get(ds.name, "")])
    out.append(Block("table", headers=["config", "split", "rows", "size", "shards", "what"], rows=rows))
    for ds in data.primary:
        if not ds.total_rows and not ds.is_internal:
            out.append(Block("p", f"`{ds.name}` has 0 rows: {empty_reason(rep)}. (🤗 datasets cannot load an empty "
                                  f"split: `load_dataset` says it 'corresponds to no data'.)"))
    loads = []
    default = next((d for d in data.primary if d.total_rows), None)
    if default is not None:
        loads.append("from datasets import load_dataset\n\n"
                     f"ds = load_dataset(\"{data.shown_as}\", \"{default.name}\")  # or the Hub repo it was pushed to")
        loads.append("import polars as pl\n\n"
                     f"df = pl.read_parquet(\"{data.shown_as}/{default.data_files(next(iter(default.splits)))[0]}\")")
    if loads:
        out.append(Block("code", "\n\n".join(loads), lang="python"))
    out.append(Block("p", f"Look inside from a terminal: `telecom-etl inspect {data.shown_as}` "
                          f"(counts, schema, sample records; `--source`, `--where`)."))
    # -- sources -------------------------------------------------------------
    src = [r for r in data.sources if r.documents and r.source not in PLACEHOLDER_SOURCES]
    if src:
        out.append(Block("h2", "Sources"))
        total_tok = {}
        for r in src:
            total_tok[r.dataset] = total_tok.get(r.dataset, 0) + r.tokens
        multi = len({r.dataset for r in src}) > 1
        hdr = (["dataset"] if multi else []) + ["source", "kind", "license", "files read", "files skipped",
                                                "files failed", "documents", "characters", "tokens", "token share"]
        rows = [([r.dataset] if multi else []) + [
            f"`{r.source}`", ", ".join(r.kinds) or "-", "; ".join(r.licenses) or "-", _n(r.files_in),
            _n(r.files_skipped), _n(r.files_failed), _n(r.documents), _n(r.chars), _n(r.tokens),
            pct(r.tokens, total_tok[r.dataset])] for r in src]
        out.append(Block("table", headers=hdr, rows=rows))
        out.extend(_img(pl_by, "sources.png"))
    # -- licences ------------------------------------------------------------
    if data.licenses:
        out.append(Block("h2", "Licenses"))
        out.append(Block("p", "Each record keeps its source's licence in the `license` column. The collection is "
                              "only as redistributable as its most restrictive source: check every row below "
                              "before publishing."))
        out.append(Block("table", headers=["license", "sources", "documents", "tokens"],
                         rows=[[lic, ", ".join(f"`{s}`" for s in srcs), _n(d), _n(t)]
                               for lic, d, t, srcs in data.licenses]))
    if data.languages:
        out.append(Block("h2", "Languages"))
        total = sum(n for _, n in data.languages)
        out.append(Block("table", headers=["lang", "documents with a language", "share"],
                         rows=[[code, _n(n), pct(n, total)] for code, n in data.languages[:20]]))
    # -- lengths -------------------------------------------------------------
    if data.lengths:
        out.append(Block("h2", "Document lengths"))
        rows = []
        for group, vals in sorted(data.lengths.items()):
            q = quantiles(vals)
            if q:
                rows.append([f"`{group}`", _n(len(vals)), _n(q["min"]), _n(q["p05"]), _n(q["median"]),
                             _n(q["p95"]), _n(q["max"])])
        if data.dropped_lengths:
            q = quantiles(data.dropped_lengths)
            rows.append(["dropped (all)", _n(len(data.dropped_lengths)), _n(q["min"]), _n(q["p05"]),
                         _n(q["median"]), _n(q["p95"]), _n(q["max"])])
        out.append(Block("table", headers=["group", "documents", "min chars", "p5", "median", "p95", "max"],
                         rows=rows))
        out.extend(Block("p", note) for note in data.distribution_notes)
        out.extend(_img(pl_by, "lengths.png"))
    # -- filters and thresholds ---------------------------------------------
    profiles = (data.manifest.get("filters") or {}).get("profiles") or {}
    if profiles:
        out.append(Block("h2", "Filters and thresholds"))
        users = profile_users(data.manifest)
        rows = []
        for prof in sorted(profiles):
            for i, spec in enumerate(profiles[prof] or []):
                spec = dict(spec)
                name = spec.pop("name", "?")
                params = ", ".join(f"{k}={v}" for k, v in sorted(spec.items())) or "(defaults)"
                defaults = {k: v for k, v in effective_params(name, {}).items()
                            if k not in spec and (isinstance(v, (int, float)) or v is None)}
                rows.append([f"`{prof}`", i + 1, f"`{name}`", params,
                             ", ".join(f"{k}={v}" for k, v in sorted(defaults.items())) or "-",
                             ", ".join(f"`{u}`" for u in users.get(prof, [])) or "-"])
        out.append(Block("p", "Filters run in order per profile; the first one that drops a record decides its "
                              "`drop_rule`."))
        out.append(Block("table", headers=["profile", "#", "filter", "set in manifest", "defaults in effect",
                                           "used by sources"], rows=rows))
    notes = data.report.get("notes") or []
    if notes:
        if not profiles:
            out.append(Block("h2", "Filters and thresholds"))
        out.append(Block("p", "Steps not run, and why:"))
        out.append(Block("table", headers=["note"], rows=[[n] for n in notes]))
    classifiers = sorted({name for name, src in (data.report.get("sources") or {}).items()
                          if "fasttext_classifier" in (src.get("filters") or [])})
    if "sources" in data.report:
        out.append(Block("p", "fastText relevance classifier: " + (
            "used by " + ", ".join(f"`{c}`" for c in classifiers) + "." if classifiers else
            "not used (no profile has a `fasttext_classifier` entry), so no record has a classifier score.")))
    if data.scores:
        out.append(Block("h2", "Quality scores"))
        rows = []
        for d in data.scores:
            qk, qd = quantiles(d.kept), quantiles(d.dropped)
            rows.append([f"`{d.key}`", _n(len(d.kept)), _n(qk.get("median")) if qk else "-",
                         _n(len(d.dropped)), _n(qd.get("median")) if qd else "-",
                         ", ".join(f"{t.label} = {t.value:g}" for t in d.thresholds) or "-",
                         _n(len(d.dropped_split()[0])) if d.thresholds else "-"])
        out.append(Block("table", headers=["score", "kept", "kept median", "dropped", "dropped median",
                                           "threshold", "dropped by its filter"], rows=rows))
        out.extend(_img(pl_by, "scores.png"))
    # -- stages --------------------------------------------------------------
    if data.stages:
        out.append(Block("h2", "Processing stages"))
        rows = []
        for name, st in data.stages:
            reasons = sorted((st.get("dropped_by_rule") or {}).items(), key=lambda kv: (-kv[1], kv[0]))
            reasons += sorted(((f"FAILED {k}", v) for k, v in (st.get("failed_by_error") or {}).items()),
                              key=lambda kv: (-kv[1], kv[0]))
            rows.append([f"`{name}`", st.get("unit", ""), _n(st.get("in")), _n(st.get("kept")),
                         _n(st.get("dropped")), _n(st.get("failed")),
                         pct(st.get("dropped", 0) + st.get("failed", 0), st.get("in", 0)),
                         ", ".join(f"{k} ({v:,})" for k, v in reasons[:5]) or "-"])
        out.append(Block("table", headers=["stage", "unit", "in", "kept", "dropped", "failed", "removed",
                                           "top reasons"], rows=rows))
        out.extend(_img(pl_by, "drops.png"))
    # -- dedup ---------------------------------------------------------------
    dedup_cfg = data.manifest.get("dedup") or {}
    if data.dedup_stages or data.cluster_sizes or dedup_cfg:
        out.append(Block("h2", "Deduplication"))
        if dedup_cfg:
            out.append(Block("p", "Settings: " + ", ".join(f"`{k}={v}`" for k, v in dedup_cfg.items()) + "."))
        rows = []
        for name, st in data.dedup_stages:
            c = data.cluster_sizes.get(name, {})
            rows.append([f"`{name}`", _n(st.get("in")), _n(st.get("dropped")),
                         pct(st.get("dropped", 0), st.get("in", 0)), _n(sum(c.values())) if c else "-",
                         _n(max(c)) if c else "-"])
        for name, c in sorted(data.cluster_sizes.items()):
            if name not in dict(data.dedup_stages):
                rows.append([f"`{name}`", "-", _n(sum((s - 1) * n for s, n in c.items())), "-",
                             _n(sum(c.values())), _n(max(c))])
        if rows:
            out.append(Block("table", headers=["stage", "in", "removed", "removed %", "clusters",
                                               "largest cluster"], rows=rows))
        out.extend(_img(pl_by, "dedup.png"))
        for name, st in sorted(data.dedup_stats.items()):
            params = st.get("params") or {}
            if params:
                out.append(Block("p", f"`{name}` parameters: " + ", ".join(f"`{k}={v}`" for k, v in params.items())
                                 + "."))
            pairs = (st.get("sample_pairs") or [])[:10]
            low = st.get("lowest_jaccard_pairs") or []
            if pairs or low:
                out.append(Block("p", f"`{name}`: sample duplicate pairs and the least similar pairs it linked "
                                      f"(look at them with `telecom-etl inspect OUT --where id=ID`):"))
                out.append(Block("table", headers=["pair", "a", "b", "estimated Jaccard"],
                                 rows=[["sample", f"`{p.get('a')}`", f"`{p.get('b')}`", p.get("estimated_jaccard")]
                                       for p in pairs]
                                 + [["lowest", f"`{p.get('a')}`", f"`{p.get('b')}`", p.get("estimated_jaccard")]
                                    for p in low]))
    # -- decontamination ------------------------------------------------------
    decon = data.report.get("decontamination") or {}
    if decon.get("benchmarks") or decon.get("documents") or "sources" in data.report:
        out.append(Block("h2", "Benchmark decontamination"))
        loaded = decon.get("benchmarks") or {}
        if loaded:
            out.append(Block("p", f"Checked against {_n(sum(loaded.values()))} benchmark items loaded from "
                                  + ", ".join(f"`{name}` ({_n(n)})" for name, n in loaded.items())
                                  + (". No record contained any of them." if not decon.get("documents") else ".")))
        elif not decon.get("documents"):
            out.append(Block("p", "Not run: no profile has a `decontaminate` filter, so no record was checked "
                                  "against a benchmark."))
    if decon.get("documents"):
        acted = decon.get("by_action") or {}
        out.append(Block("p", f"{_n(decon['documents'])} records contained {_n(decon['benchmark_items'])} benchmark "
                              f"items: " + ", ".join(f"{_n(n)} {a}" for a, n in sorted(acted.items()))
                         + (f"; {_n(decon.get('spans_redacted', 0))} sentences or table rows "
                            f"({_n(decon.get('chars_redacted', 0))} characters) were cut out of the redacted "
                            "records, the rest of each record is unchanged" if decon.get("chars_redacted") else "")
                         + ". The matched items and removed character spans of each record are in its `extra` "
                           "(`benchmark_matches`, `benchmark_redacted`)."))
        out.append(Block("table", headers=["record", "action", "items", "characters removed"],
                         rows=[[f"`{r.get('id')}`", r.get("action", ""), ", ".join(r.get("items") or [])[:120],
                                _n(r.get("removed_chars", 0))] for r in (decon.get("documents_matched") or [])[:10]]))
    # -- personal data -------------------------------------------------------
    pii = data.report.get("pii") or {}
    if pii.get("records"):
        out.append(Block("h2", "Personal data"))
        out.append(Block("p", f"The PII step removed {_n(pii['emails'])} e-mail addresses and {_n(pii['phones'])} "
                              f"phone numbers from {_n(pii['records'])} records (each is flagged `pii_redacted`, "
                              "its counts are in `extra.pii_emails` and `extra.pii_phones`)."))
        out.append(Block("table", headers=["source", "records redacted", "e-mail addresses", "phone numbers"],
                         rows=[[f"`{src}`", _n(b["records"]), _n(b["emails"]), _n(b["phones"])]
                               for src, b in sorted(pii["by_source"].items())]))
    # -- synthetic -----------------------------------------------------------
    if data.facets or data.numeric or data.rejections:
        out.append(Block("h2", "Synthetic data"))
        for ds_name in [d.name for d in data.datasets if d.name in data.facets or d.name in data.numeric]:
            out.append(Block("h3", f"`{ds_name}`"))
            for col, counts in (data.facets.get(ds_name) or {}).items():
                total = sum(n for _, n in counts)
                out.append(Block("table", headers=[col, "records", "share"],
                                 rows=[[f"`{k}`", _n(n), pct(n, total)] for k, n in counts[:30]]))
            num = data.numeric.get(ds_name) or {}
            if num:
                out.append(Block("table", headers=["column", "count", "mean", "p5", "median", "p95", "sum"],
                                 rows=[[f"`{c}`", _n(v["count"]), _n(v["mean"]), _n(v["p05"]), _n(v["median"]),
                                        _n(v["p95"]), _n(v["sum"])] for c, v in num.items()]))
        out.extend(_img(pl_by, "synth.png"))
        if data.rejections:
            out.append(Block("h3", "Rejections"))
            kept = {}
            for ds_name, facets in data.facets.items():
                for task, n in facets.get("task", []):
                    kept[task] = kept.get(task, 0) + n
            rejected = {}
            for r in data.rejections:
                rejected[r.task] = rejected.get(r.task, 0) + r.n
            out.append(Block("table", headers=["task", "kept", "rejected", "rejection rate"],
                             rows=[[f"`{t}`", _n(kept.get(t, 0)), _n(rejected.get(t, 0)),
                                    pct(rejected.get(t, 0), kept.get(t, 0) + rejected.get(t, 0))]
                                   for t in sorted(set(kept) | set(rejected))]))
            out.append(Block("table", headers=["task", "stage", "reason", "records", "in"],
                             rows=[[f"`{r.task}`", r.stage or "-", r.reason, _n(r.n), f"`{r.dataset}/`"]
                                   for r in data.rejections[:60]]))
            out.extend(_img(pl_by, "rejections.png"))
    if data.examples:
        out.append(Block("h2", "Examples"))
        out.append(Block("p", f"{EXAMPLE_COUNT} records per dataset picked with a fixed seed, long text clipped "
                              f"to {EXAMPLE_CLIP} characters (`telecom-etl inspect` shows more)."))
        for ds_name, rows in data.examples.items():
            for i, row in enumerate(rows, 1):
                out.append(Block("details", f"{ds_name} example {i}",
                                 children=[Block("code", example_text(row), lang="text")]))
    if data.run_facts:
        out.append(Block("h2", "Run facts"))
        out.append(Block("p", "Further figures the command recorded in `report.json` (teachers, prompt versions, "
                              "usage and cost when it ran teacher models)."))
        for key, value in data.run_facts.items():
            out.extend(fact_blocks(key, value))
    # -- reproduce -----------------------------------------------------------
    checks = rep.get("checks") or []
    bad = [c for c in checks if not c.get("ok")]
    if bad:
        out.append(Block("h2", "Accounting mismatches"))
        out.append(Block("table", headers=["check", "left", "right"],
                         rows=[[c["check"], _n(c.get("left")), _n(c.get("right"))] for c in bad]))
    out.append(Block("h2", "Reproduce"))
    command = rep.get("command")
    if command and not str(command).startswith("telecom-etl"):
        command = f"telecom-etl {command} ..."
    if not command and any(d.name == "pretrain" for d in data.datasets):
        manifest = rep.get("manifest") or data.manifest.get("path") or "MANIFEST"
        command = f"telecom-etl build-pretrain -m {manifest} -o OUT"
    out.append(Block("code", f"# telecom-etl {data.version}" + (f"\n{command}" if command else ""), lang="sh"))
    text = _manifest_text(data)
    if text:
        out.append(Block("details", "The manifest", children=[Block("code", text.rstrip(), lang="yaml")]))
    return out


EXAMPLE_CLIP = 700
EXAMPLE_COUNT = 3
#: Fields of a record that say nothing to a reader of an example.
_EXAMPLE_SKIP = {"content_hash", "schema_version", "request_key", "candidates"}


def _clip(text: str, width: int = EXAMPLE_CLIP) -> str:
    text = str(text)
    return text if len(text) <= width else text[:width].rstrip() + f" … (+{len(text) - width:,} characters)"


def example_text(row: dict) -> str:
    """One stored record as readable ``field: value`` lines; chat messages as turns."""
    lines = []
    for key, value in row.items():
        if key in _EXAMPLE_SKIP or value is None or value == "" or value == [] or value == {}:
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict) and "content" in value[0]:
            lines.append(f"{key}:")
            for msg in value:
                body = _clip(msg.get("content") or "").replace("\n", "\n    ")
                lines.append(f"  [{msg.get('role', '?')}] {body}")
        elif isinstance(value, list) and value and isinstance(value[0], tuple):
            lines.append(f"{key}: " + ", ".join(f"{k}={v}" for k, v in value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{key}: " + "; ".join(", ".join(f"{k}={v}" for k, v in item.items() if v is not None)
                                                for item in value))
        elif isinstance(value, list):
            lines.append(f"{key}: " + ", ".join(str(v) for v in value))
        elif isinstance(value, str) and ("\n" in value or len(value) > 100):
            lines.append(f"{key}:")
            lines.append("    " + _clip(value).replace("\n", "\n    "))
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)


def _scalar(v) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _fact(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v).lower()
    if isinstance(v, (int, float)):
        return _n(v)
    return str(v)


def _shallow(v) -> bool:
    """A value one table cell can show: a scalar, or a list / mapping of scalars."""
    if _scalar(v):
        return True
    if isinstance(v, list):
        return all(_scalar(x) for x in v)
    if isinstance(v, dict):
        return all(_scalar(x) or (isinstance(x, (list, dict)) and all(_scalar(y) for y in
                                                                       (x.values() if isinstance(x, dict) else x)))
                   for x in v.values())
    return False


def _flat(record: dict) -> bool:
    """A mapping one table row can show: cells a table cell can show, and not every one of them
    a mapping (a mapping of mappings, like usage.by_teacher, is a table of its own)."""
    return _shallow(record) and not (record and all(isinstance(x, dict) for x in record.values()))


def _compact(v) -> str:
    if isinstance(v, list):
        return ", ".join(_compact(x) for x in v) or "-"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_compact(x)}" for k, x in v.items()) or "-"
    return _fact(v) if v != "" else "-"


def fact_blocks(key: str, value, level: int = 0) -> List[Block]:
    """A report.json entry as a table where its shape allows (records become rows, a flat
    mapping key/value rows, a list of sentences one row each), YAML only for deeper shapes;
    empty entries are left out, nothing else is."""
    if value in (None, {}, [], ""):
        return []
    title = Block("h3", f"`{key}`") if level == 0 else Block("p", f"**{key}**")
    if _scalar(value):
        return [Block("p", f"`{key}`: {_fact(value)}")]
    if isinstance(value, list) and all(_scalar(v) for v in value):
        return [title, Block("table", headers=[key], rows=[[_fact(v)] for v in value])]
    if isinstance(value, dict) and all(_shallow(v) and not isinstance(v, dict) for v in value.values()):
        return [title, Block("table", headers=["key", "value"], rows=[[f"`{k}`", _compact(v)] for k, v in value.items()])]
    records = None
    # records: one row each (a field that is a mapping of records gets a table of its own below)
    if isinstance(value, dict) and all(isinstance(v, dict) and _flat(v) for v in value.values()):
        records = [{key: k, **v} for k, v in value.items()]
    elif isinstance(value, list) and all(isinstance(v, dict) and _flat(v) for v in value):
        records = value
    if records:
        cols = list(dict.fromkeys(c for r in records for c in r))
        return [title, Block("table", headers=cols, rows=[[_compact(r.get(c)) for c in cols] for r in records])]
    if isinstance(value, dict) and level < 1:
        out = [title]
        for k, v in value.items():
            out.extend(fact_blocks(k, v, level + 1))
        return out if len(out) > 1 else []
    return [title, Block("code", yaml.safe_dump(value, sort_keys=False, default_flow_style=False,
                                                allow_unicode=True).rstrip(), lang="yaml")]


# ---------------------------------------------------------------------------
# markdown
# ---------------------------------------------------------------------------

def _cell(x) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def to_markdown(items: Sequence[Block]) -> str:
    lines: List[str] = []
    for b in items:
        if b.kind in ("h2", "h3"):
            lines += [("## " if b.kind == "h2" else "### ") + b.text, ""]
        elif b.kind == "p":
            lines += [b.text, ""]
        elif b.kind == "table":
            lines.append("| " + " | ".join(_cell(h) for h in b.headers) + " |")
            lines.append("|" + "|".join("---" for _ in b.headers) + "|")
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in b.rows]
            lines.append("")
        elif b.kind == "img":
            lines += [f"![{b.plot.title}](plots/{b.plot.name})", "", f"*{b.plot.caption}*", ""]
        elif b.kind == "code":
            fence = "````" if "```" in b.text else "```"
            lines += [fence + b.lang, b.text, fence, ""]
        elif b.kind == "details":
            lines += ["<details>", f"<summary>{html.escape(b.text)}</summary>", "",
                      to_markdown(b.children).rstrip(), "", "</details>", ""]
    return "\n".join(lines)


def render_card(data: CardData, plots: Sequence[Plot]) -> str:
    """The whole ``README.md``: YAML front matter, then the body."""
    meta = yaml.safe_dump(header(data), sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    body = to_markdown(blocks(data, plots))
    return f"---\n{meta}---\n\n# {data.title}\n\n{body.rstrip()}\n"
