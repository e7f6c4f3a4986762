"""Texts out of the runner's memory (issue 20 item 4): spill files, references, the shard writer reading back."""
from __future__ import annotations

import glob
import io as _io
import os
import pickle

import pyarrow.parquet as pq

import memfs
from telecom_etl.filters.dedup.minhash import MinHasher, Sketcher, signature_bytes
from telecom_etl.pipelines.write import parquet_bytes, write_parquet
from telecom_etl.record import PRETRAIN_SCHEMA, Document, content_hash
from telecom_etl.spill import SpilledText, TextReader, spill

TEXTS = [
    "The AMF terminates N1 and N2 and selects the SMF for each PDU session. " * 40,
    "ASN.1:\n```asn1\nRRCSetup ::= SEQUENCE { rrc-TransactionIdentifier INTEGER (0..3) }\n```\n",
    "Unicode survives: \u00e9\u00e8 \u4e2d\u6587 \U0001f4e1 as written.",
    "",
    "short",
]


def _docs():
    return [Document(id=f"id{i:02d}", text=t, source="s", kind="3gpp", uri=f"x/{i}", title=f"T{i}",
                     extra={"k": "v"}, content_hash=None if i % 2 else content_hash(t)) for i, t in enumerate(TEXTS)]


def test_spilled_records_keep_length_hash_and_sketch_and_read_back_exactly(tmp_path):
    docs = _docs()
    sketcher = Sketcher(128, 5, 1, "oph", 512)
    light = spill(docs, str(tmp_path / "_spill"), sketcher)
    files = glob.glob(str(tmp_path / "_spill" / "*"))
    assert len(files) == 1 and not os.path.basename(files[0]).startswith(".tmp-")
    assert spill(docs, str(tmp_path / "_spill"), sketcher)[0].text == light[0].text  # same batch, same file
    hasher = MinHasher(128, 5, 1, "oph")
    sigs, sets = hasher.signatures_and_shingles([d.text for d in docs], 512)
    with TextReader() as reader:
        for doc, lt, sig, shingles in zip(docs, light, sigs, sets):
            assert isinstance(lt.text, SpilledText)
            assert len(lt.text) == len(doc.text) and lt.n_chars == doc.n_chars and lt.n_tokens == doc.n_tokens
            assert lt.content_hash == (doc.content_hash or content_hash(doc.text))
            assert lt.text.sketch == (signature_bytes(sig), shingles)  # what near-dedup would compute
            assert reader.read(lt.text) == doc.text
            assert pickle.loads(pickle.dumps(lt)) == lt  # moves through a runner's coder
            assert lt.replace(text=doc.text).to_row() == doc.to_row()
    assert pickle.loads(pickle.dumps(sketcher))(["a b c d e f"]) == sketcher(["a b c d e f"])
    odd = Document(id="odd", text="a lone surrogate \ud800 comes back as it was", source="s", kind="text", uri="o",
                   content_hash="set by normalize")
    with TextReader() as reader:
        assert reader.read(spill([odd], str(tmp_path / "_spill"))[0].text) == odd.text


def test_shard_writer_gives_the_same_bytes_from_spilled_records(tmp_path):
    docs = _docs() * 3
    docs = [d.replace(id=f"{d.id}-{i}") for i, d in enumerate(docs)]
    light = spill(docs[:7], str(tmp_path / "_spill"), None) + docs[7:9] + spill(docs[9:], str(tmp_path / "_spill"))
    want = parquet_bytes([d.to_row() for d in docs], PRETRAIN_SCHEMA, 4, "zstd")
    write_parquet(str(tmp_path / "a.parquet"), [d.to_row() for d in light], PRETRAIN_SCHEMA, 4, "zstd")
    assert (tmp_path / "a.parquet").read_bytes() == want
    assert pq.ParquetFile(str(tmp_path / "a.parquet")).metadata.num_row_groups == 4
    write_parquet(str(tmp_path / "empty.parquet"), [], PRETRAIN_SCHEMA, 4, "zstd")
    assert (tmp_path / "empty.parquet").read_bytes() == parquet_bytes([], PRETRAIN_SCHEMA, 4, "zstd")
    assert not glob.glob(str(tmp_path / ".tmp-*"))


def test_spill_and_read_back_on_an_object_store():
    memfs.STORE.clear()
    docs = _docs()
    light = spill(docs, "mem://bucket/run/_spill", None)
    assert [k for k in memfs.STORE if ".tmp-" in k] == []
    rows = [d.to_row() for d in reversed(light)]
    write_parquet("mem://bucket/run/part.parquet", rows, PRETRAIN_SCHEMA, 2, "zstd")
    got = pq.read_table(_io.BytesIO(memfs.STORE["mem://bucket/run/part.parquet"])).to_pylist()
    assert [r["text"] for r in got] == [d.text for d in reversed(docs)]
    assert memfs.STORE["mem://bucket/run/part.parquet"] == parquet_bytes(
        [d.to_row() for d in reversed(docs)], PRETRAIN_SCHEMA, 2, "zstd")
    assert [k for k in memfs.STORE if ".tmp-" in k] == []


def test_dedup_decides_the_same_on_spilled_records(tmp_path):
    """Exact and near dedup on light records (text in spill files, sketch made before) decide as on
    whole records; the records that leave them still hold no text."""
    import json

    import apache_beam as beam

    from telecom_etl.pipelines.dedup import ExactDedup, NearDedup
    from telecom_etl.pipelines.spill import SpillText

    words = ("registration request amf ausf udm smf upf pdu session n1 n2 n4 forwarding rule policy "
             "subscriber mobility paging tunnel endpoint identifier context release accept reject").split()
    import random

    base = [" ".join(random.Random(i).choices(words, k=400)) for i in range(6)]
    texts = base + [base[0] + " one more sentence at the end.", base[1], "tiny", ""]
    docs = [Document(id=f"d{i}", text=t, source="s", kind="text", uri=f"u{i}", content_hash=content_hash(t))
            for i, t in enumerate(texts)]

    def run(spilled: bool) -> dict:
        out = tmp_path / f"out-{spilled}.json"
        with beam.Pipeline() as p:
            near = NearDedup(threshold=0.8)
            records = p | beam.Create(docs)
            if spilled:
                records = records | SpillText(str(tmp_path / "_spill"), near.sketcher(), batch_chars=3000)
            exact = records | "Exact" >> ExactDedup()
            dedup = exact.kept | "Near" >> near
            rows = ((exact.dropped, dedup.dropped) | beam.Flatten()
                    | beam.Map(lambda r: [r.doc.id, r.why.rule, r.why.duplicate_of, type(r.doc.text).__name__]))
            kept = dedup.kept | beam.Map(lambda d: [d.id, "kept", "", type(d.text).__name__])
            ((rows, kept) | "All" >> beam.Flatten() | beam.combiners.ToList()
             | beam.Map(lambda rows: out.write_text(json.dumps(sorted(rows)))))
        return json.loads(out.read_text())

    whole, light = run(False), run(True)
    assert {r[3] for r in whole} == {"str"} and {r[3] for r in light} == {"SpilledText"}
    assert [r[:3] for r in light] == [r[:3] for r in whole]
    assert ["d0", "near_duplicate", "d6"] in [r[:3] for r in whole]  # the longer text is kept
    assert ["d7", "exact_duplicate", "d1"] in [r[:3] for r in whole]
    assert sum(r[1] == "kept" for r in whole) == 8
