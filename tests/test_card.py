"""The dataset card, its plots and report.html, checked against the Parquet they describe."""
from __future__ import annotations

import base64
import html
import os
import re
import shutil
import struct
import subprocess

import polars as pl
import pytest
import yaml

from card_fixtures import MANIFEST, make_output
from telecom_etl.card import write_card
from telecom_etl.card.plots import HEIGHT_PX, WIDTH_PX

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes):
    """(width, height) from the PNG's IHDR chunk; fails on anything that is not a PNG."""
    assert data[:8] == PNG_MAGIC, "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def read_card(out) -> tuple:
    text = (out / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    head, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def table_rows(body: str, first_header: str):
    """Rows (lists of cells) of the Markdown table whose first header cell is ``first_header``."""
    lines = body.splitlines()
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_header:
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return rows
    raise AssertionError(f"no table starting with {first_header!r}")


def section(body: str, title: str) -> str:
    """The text of one ``## title`` section of the card."""
    return body.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def num(cell: str) -> int:
    return int(cell.replace(",", ""))


def check_data_files(out, meta):
    """Every config's data_files glob selects exactly the split's shards, and the
    declared num_examples equal the rows polars reads from them."""
    infos = {i["config_name"]: i for i in meta["dataset_info"]}
    for cfg in meta["configs"]:
        for entry in cfg["data_files"]:
            paths = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
            files = sorted(str(p) for pattern in paths for p in out.glob(pattern))
            assert files, f"{cfg['config_name']}/{entry['split']}: {paths} matches nothing"
            rows = pl.read_parquet(files).height
            declared = {s["name"]: s["num_examples"] for s in infos[cfg["config_name"]]["splits"]}
            assert declared[entry["split"]] == rows


def check_plots(out, body, html):
    pngs = sorted((out / "plots").glob("*.png"))
    assert pngs
    for p in pngs:
        data = p.read_bytes()
        assert png_size(data) == (WIDTH_PX, HEIGHT_PX)
        assert len(data) > 5000, f"{p.name} is suspiciously small (blank?)"
        assert f"](plots/{p.name})" in body  # embedded in the card
        assert base64.b64encode(data).decode() in html  # and inline in report.html
    assert html.count('src="data:image/png;base64,') == len(pngs)
    # opens offline: nothing to fetch
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<script" not in html
    return pngs


# ---------------------------------------------------------------------------
# the real pipeline on the bundled sample
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_build(sample_dir, tmp_path_factory):
    from telecom_etl.manifest import load_manifest
    from telecom_etl.pipelines.build_pretrain import run

    base = tmp_path_factory.mktemp("card-build")
    manifest = base / "manifest.yaml"
    manifest.write_text(f"""\
name: card-sample
description: The generated sample, for the card test.
sources:
  - {{name: specs, kind: 3gpp, paths: ["{sample_dir}/specs"], license: "3GPP/ETSI copyright"}}
  - {{name: papers, kind: paper, paths: ["{sample_dir}/papers"], license: CC-BY-4.0}}
  - {{name: code, kind: code, paths: ["{sample_dir}/code"], license: Apache-2.0}}
filters:
  profiles:
    default:
      - {{name: length, min_chars: 200}}
    code:
      - {{name: length, min_chars: 50}}
""")
    out = base / "out"
    loaded = load_manifest(str(manifest))
    report = run(loaded, str(out), [], progress=False)
    return out, report, loaded


def test_build_pretrain_writes_a_card_whose_numbers_match_the_parquet(sample_build):
    out, report, _ = sample_build
    meta, body = read_card(out)
    assert meta["pretty_name"] == "card-sample"
    assert meta["configs"][0]["config_name"] == "pretrain" and meta["configs"][0]["default"] is True
    check_data_files(out, meta)

    kept = pl.read_parquet(str(out / "pretrain" / "*.parquet"))
    assert f"**pretrain**: {kept.height:,} rows" in body
    per_source = {r[0]: r for r in kept.group_by("source").agg(pl.len(), pl.col("n_tokens").sum()).iter_rows()}
    rows = table_rows(body, "source")
    assert {r[0].strip("`") for r in rows} == set(per_source)
    for r in rows:
        _, n, tokens = per_source[r[0].strip("`")]
        assert num(r[6]) == n and num(r[8]) == tokens  # documents, tokens columns
    assert section(body, "Sources").count("| `") == len(per_source)
    # licences per source, and the Hub licence field (several known SPDX ids -> a list or other)
    assert "CC-BY-4.0" in body and "3GPP/ETSI copyright" in body
    assert meta["license"] == "other"
    # stages come from report.json, in pipeline order
    stages = [r[0].strip("`") for r in table_rows(body, "stage")]
    assert stages[:2] == ["list", "extract"] and set(report["doc_stages"]) <= set(stages)
    # manifest and toolkit version that produced it
    assert f"digest `{report['manifest_digest']}`" in body and f"telecom-etl {report['version']}" in body
    html = (out / "report.html").read_text(encoding="utf-8")
    names = {p.name for p in check_plots(out, body, html)}
    assert {"sources.png", "lengths.png"} <= names


def test_card_is_deterministic(sample_build, tmp_path):
    out, report, manifest = sample_build
    before = {p: (out / p).read_bytes() for p in ("README.md", "report.html")}
    before.update({f"plots/{p.name}": p.read_bytes() for p in (out / "plots").glob("*.png")})
    write_card(str(out), report, manifest)
    after = {p: (out / p).read_bytes() for p in before}
    assert after == before


# ---------------------------------------------------------------------------
# a full folder: scores, dedup clusters, synthetic sets, run facts
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    out = tmp_path_factory.mktemp("card-rich")
    expected = make_output(str(out))
    write_card(str(out), manifest=MANIFEST)
    return out, expected


def test_rich_card_yaml_configs_and_counts(rich):
    out, exp = rich
    meta, body = read_card(out)
    check_data_files(out, meta)
    configs = [c["config_name"] for c in meta["configs"]]
    assert configs == ["pretrain", "sft", "preference", "dropped", "rejects"]  # not dedup_index
    contents = [r[0].strip("`") for r in table_rows(section(body, "Contents"), "config")]
    assert contents == configs[:1] + ["sft", "sft"] + configs[2:] + ["dedup_index"]
    sft = next(c for c in meta["configs"] if c["config_name"] == "sft")
    assert [e["split"] for e in sft["data_files"]] == ["train", "test"]
    assert meta["language"] == ["en"] and "dpo" in meta["tags"]
    rows = [r for r in table_rows(section(body, "Sources"), "dataset") if r[0] == "pretrain"]
    assert {r[1].strip("`"): num(r[7]) for r in rows} == exp["per_source"]  # documents per source


def test_rich_card_thresholds_dedup_and_synthetic(rich):
    out, exp = rich
    _, body = read_card(out)
    scores = {r[0].strip("`"): r for r in table_rows(body, "score")}
    assert set(scores) == {"fasttext_telecom", "lang_score", "telecom_keywords"}
    assert "telecom_keywords.min_density, profile default = 0.02" in scores["telecom_keywords"][5]
    # the classifier's threshold is found through its score name (fasttext_<label>)
    assert "fasttext_classifier.threshold, profile default = 0.4" in scores["fasttext_telecom"][5]
    assert num(scores["telecom_keywords"][1]) == exp["kept"]
    assert num(scores["telecom_keywords"][3]) == exp["dropped"]
    # clusters rebuilt from dropped/duplicate_of
    dedup = {r[0].strip("`"): r for r in table_rows(section(body, "Deduplication"), "stage")}
    assert num(dedup["dedup_near"][4]) == len(exp["clusters"])
    assert num(dedup["dedup_near"][5]) == max(exp["clusters"])
    # synthetic task mix counted from the Parquet
    sft = section(body, "Synthetic data").split("### `sft`", 1)[1].split("### ", 1)[0]
    tasks = {r[0].strip("`"): num(r[1]) for r in table_rows(sft, "task")}
    assert tasks == exp["tasks"]
    teachers = {r[0].strip("`"): num(r[1]) for r in table_rows(sft, "teacher")}
    assert sum(teachers.values()) == exp["sft"]
    # anything else the command put in report.json
    facts = section(body, "Run facts")
    teachers = {r[0].strip("`"): r for r in table_rows(facts, "by_teacher")}
    assert teachers["writer"][1:] == ["gpt-4o", "45", "1"] and teachers["judge"][3] == "0.25"
    assert table_rows(facts, "key") == [["`requests`", "59"], ["`cost_usd`", "1.25"]]
    html = (out / "report.html").read_text(encoding="utf-8")
    names = {p.name for p in check_plots(out, body, html)}
    assert names == {"sources.png", "lengths.png", "scores.png", "drops.png", "dedup.png", "synth.png",
                     "rejections.png"}


def test_card_of_a_partial_folder_renders_what_exists(tmp_path):
    out = tmp_path / "out"
    make_output(str(out))
    for gone in ("pretrain", "dropped"):
        shutil.rmtree(out / gone)
    os.unlink(out / "report.json")
    (out / "plots").mkdir()
    (out / "plots" / "scores.png").write_bytes(b"stale from an earlier run")
    files = write_card(str(out))
    meta, body = read_card(out)
    assert [c["config_name"] for c in meta["configs"]] == ["sft", "preference", "rejects"]
    assert meta["configs"][0].get("default") is True
    check_data_files(out, meta)
    assert "## Synthetic data" in body and "## Processing stages" not in body
    assert not (out / "plots" / "scores.png").exists()  # stale plot removed
    assert {os.path.basename(p) for p in files.plots} == {"sources.png", "synth.png", "rejections.png"}


def test_card_of_an_empty_folder(tmp_path):
    write_card(str(tmp_path))
    meta, body = read_card(tmp_path)
    assert "configs" not in meta and "no output rows" in body
    html = (tmp_path / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "data:image/png" not in html


CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
                 if os.path.exists(p)), None)


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium installed (Debian: apt-get install chromium)")
def test_report_html_renders_in_headless_chromium(rich, tmp_path):
    """The page, opened offline from disk in a real browser: it lays out the headings and
    decodes every embedded image (the DOM dump shows each <img> with its natural width)."""
    out, _ = rich
    html = out / "report.html"
    probe = tmp_path / "probe.html"
    # a copy of the page with a tiny script that writes what the browser decoded into the DOM
    probe.write_text(html.read_text().replace("</body>", (
        "<script>window.onload=()=>{document.body.setAttribute('data-imgs',"
        "[...document.images].map(i=>i.complete&&i.naturalWidth).join(','));}</script></body>")))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", f"file://{probe}"], capture_output=True, text=True, timeout=120).stdout
    widths = re.search(r'data-imgs="([^"]*)"', dom).group(1).split(",")
    assert widths == [str(WIDTH_PX)] * 7
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,900", f"file://{html}"], capture_output=True, timeout=120)
    assert png_size(shot.read_bytes()) == (1200, 900)


def test_load_dataset_finds_every_config_and_split(rich, tmp_path, monkeypatch):
    """🤗 datasets reads the folder through the card alone: configs, splits, row counts
    (which it verifies against dataset_info); every column loads, scores and extra
    included (key/value struct lists, not Arrow maps)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    out, exp = rich
    want = {"pretrain": {"train": exp["kept"]},
            "sft": {"train": exp["sft_train"], "test": exp["sft"] - exp["sft_train"]},
            "preference": {"train": exp["preference"]}, "dropped": {"train": exp["dropped"]},
            "rejects": {"train": sum(exp["rejected"].values())}}
    for config, splits in want.items():
        ds = datasets.load_dataset(str(out), config, cache_dir=str(tmp_path / "hf"))
        assert {s: d.num_rows for s, d in ds.items()} == splits
    pretrain = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))["train"]  # the default config
    assert pretrain.num_rows == exp["kept"] and "scores" in pretrain.column_names  # key/value lists load
    assert "text" in pretrain.column_names and "spec_release" in pretrain.column_names


def test_big_outputs_sample_distributions_but_count_exactly(tmp_path, monkeypatch):
    from telecom_etl.card import stats

    monkeypatch.setattr(stats, "MAX_DISTRIBUTION_ROWS", 100)
    exp = make_output(str(tmp_path))
    data = stats.collect(str(tmp_path), manifest=MANIFEST)
    assert sum(len(v) for v in data.lengths.values()) == 84  # every 3rd of 250
    assert {r.source: r.documents for r in data.sources if r.dataset == "pretrain"} == exp["per_source"]
    write_card(str(tmp_path), manifest=MANIFEST)
    _, body = read_card(tmp_path)
    assert "use one row in 3 of 250 rows" in section(body, "Document lengths")


def test_score_drops_are_split_by_the_filter_that_owns_the_score(rich):
    out, _ = rich
    _, body = read_card(out)
    scores = {r[0].strip("`"): r for r in table_rows(section(body, "Quality scores"), "score")}
    dropped = pl.read_parquet(str(out / "dropped" / "*.parquet"))
    own = dropped.filter(pl.col("drop_rule").str.starts_with("telecom_keywords")).height
    assert num(scores["telecom_keywords"][6]) == own == 8
    assert scores["lang_score"][6] == "-"  # no language filter in this manifest


def test_synthetic_rejections_per_task_and_reason(rich):
    out, exp = rich
    _, body = read_card(out)
    rejections = section(body, "Synthetic data").split("### Rejections", 1)[1]
    rates = {r[0].strip("`"): r for r in table_rows(rejections, "task") if len(r) == 4}
    assert rates["abbreviation"][1:] == ["20", "8", "28.6%"]
    assert rates["mcq"][1:] == ["10", "4", "28.6%"]
    detail = [r for r in table_rows(rejections.split("| task | kept |", 1)[1], "task")]
    assert ["`abbreviation`", "validate", "unparsable_json", "5", "`rejects/`"] in detail


def test_card_shows_a_few_example_records(rich):
    out, _ = rich
    _, body = read_card(out)
    examples = section(body, "Examples")
    assert examples.count("<summary>pretrain example") == 3 and examples.count("<summary>sft example") == 3
    assert "[user] What does" in examples and "[assistant] It means" in examples  # chat turns
    assert re.search(r"… \(\+[\d,]+ characters\)", examples)  # long text clipped
    html = (out / "report.html").read_text()
    assert html.count("<details><summary>pretrain example") == 3


def test_report_page_run_facts_are_a_table_in_headless_chromium(sample_build, tmp_path):
    """build-pretrain's report.html in a real browser: "Run facts" is a table of the sources
    (no YAML block, no doubled quotes), and the decontamination and classifier parts say
    what they were given."""
    out, report, _ = sample_build
    probe = tmp_path / "probe.html"
    script = ("<script>window.onload=()=>{const hs=[...document.querySelectorAll('h2')];"
              "const h=hs.find(x=>x.textContent.trim()==='Run facts');let n=h.nextElementSibling,tables=[],pre=0;"
              "while(n&&n.tagName!=='H2'){if(n.tagName==='TABLE')tables.push([...n.querySelectorAll('th')]"
              ".map(t=>t.textContent.trim()).join('|')+'='+[...n.querySelectorAll('tbody tr td:first-child')]"
              ".map(t=>t.textContent.trim()).join('|'));if(n.tagName==='PRE'||n.querySelector('pre'))pre++;"
              "n=n.nextElementSibling;}document.body.setAttribute('data-facts',tables.join(';'));"
              "document.body.setAttribute('data-pre',pre);"
              "document.body.setAttribute('data-text',document.body.innerText.replace(/\\s+/g,' '));}</script></body>")
    probe.write_text((out / "report.html").read_text().replace("</body>", script))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", f"file://{probe}"], capture_output=True, text=True, timeout=120).stdout
    facts = re.search(r'data-facts="([^"]*)"', dom).group(1).split(";")
    assert "sources|kind|paths|license|filter_profile|filters|options=specs|papers|code" in facts
    assert re.search(r'data-pre="0"', dom)
    text = html.unescape(re.search(r'data-text="([^"]*)"', dom).group(1))
    assert "''" not in text
    assert f"run {report['run_id']}" in text
    assert "Benchmark decontamination Not run: no profile has a decontaminate filter" in text
    assert "fastText relevance classifier: not used (no profile has a fasttext_classifier entry)" in text
    shot = tmp_path / "facts.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,900", f"file://{out / 'report.html'}"], capture_output=True, timeout=120)
    assert png_size(shot.read_bytes()) == (1200, 900)
