"""OLE equation objects and symbol-font characters through the 3GPP Word reader.

The .docx is built in the test: python-docx paragraphs, raw ``w:object`` runs pointing at
``word/embeddings/oleObjectN.bin`` parts (equation objects from :mod:`ole_fixtures`), ``w:sym``
elements and private-use text in Symbol/Wingdings runs. The real-file measurements are the
``corpus`` tests at the end (skipped without ../shared/corpus).
"""
from __future__ import annotations

import collections
import re
import zipfile

import latex2mathml.converter
import pytest

from conftest import corpus_file
from ole_fixtures import NUMBER, SYMBOL, TEXT, V3, V5, cfb, equation_object
from telecom_etl.extractors.base import SourceItem
from telecom_etl.extractors.spec import SpecSource
from telecom_etl.extractors.threegpp.mtef import EquationError, ole_to_latex
from telecom_etl.manifest import SourceConfig
from telecom_etl.record import Document

W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
VO_NS = ('xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
OLE_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject"

# N_RB = \frac{a}{2}  (MathType, v5)  and  c(n)  (Equation Editor, v3)
FRACTION = V5.eq(V5.char("N"), V5.tmpl(27, 0, V5.line(V5.char("RB", TEXT)), V5.NULL), V5.char("=", SYMBOL),
                 V5.tmpl(11, 0, V5.line(V5.char("a")), V5.line(V5.char("2", NUMBER))))
FRACTION_LATEX = r"N_{\mathrm{RB}}=\frac{a}{2}"
CN = V3.eq(V3.char("c"), V3.char("(", SYMBOL), V3.char("n"), V3.char(")", SYMBOL))


def _object_run(rel_id: str, prog: str = "Equation.3") -> str:
    return (f'<w:r {W_NS}><w:object><v:shape {VO_NS} id="_x0000_i1" style="width:20pt;height:10pt"/>'
            f'<o:OLEObject {VO_NS} Type="Embed" ProgID="{prog}" ShapeID="_x0000_i1" ObjectID="_1" r:id="{rel_id}"/>'
            '</w:object></w:r>')


def make_spec(path: str) -> str:
    import docx
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import parse_xml

    document = docx.Document()
    rel_ids = {}
    objects = {"fraction": equation_object(FRACTION), "cn": equation_object(CN),
               "corrupt": b"this is not a compound file" * 20, "visio": cfb({"VisioDocument": b"shapes"}),
               "empty": equation_object(V3.HEADER + b"\x0a\x00")}
    for i, (name, blob) in enumerate(objects.items(), 1):
        part = Part(PackURI(f"/word/embeddings/oleObject{i}.bin"),
                    "application/vnd.openxmlformats-officedocument.oleObject", blob, document.part.package)
        rel_ids[name] = document.part.relate_to(part, OLE_TYPE)

    def para(*fragments):
        p = document.add_paragraph()
        for fragment in fragments:
            if fragment.startswith("<"):
                p._p.append(parse_xml(fragment))
            else:
                p.add_run(fragment)
        return p

    document.add_paragraph("1\tScope", style="Heading 1")
    para("The number of resource blocks ", _object_run(rel_ids["fraction"], "Equation.DSMT4"), " is given here.")
    para(_object_run(rel_ids["cn"]))  # alone in its paragraph: display
    para("A broken object ", _object_run(rel_ids["corrupt"]), " and a drawing that claims to be one ",
         _object_run(rel_ids["visio"]), " and an empty one ", _object_run(rel_ids["empty"]), " end here.")
    para("An object whose part is gone ", _object_run("rId999"), ".")
    # symbol fonts: a w:sym, private-use text in a Symbol run, a Wingdings arrow
    para("roll-off ", f'<w:r {W_NS}><w:rPr><w:rFonts w:ascii="Symbol" w:hAnsi="Symbol"/></w:rPr>'
                      '<w:t xml:space="preserve">\uf061\uf020</w:t></w:r>', "= 0.22 and ",
         f'<w:r {W_NS}><w:sym w:font="Symbol" w:char="F06D"/></w:r>', "s, then ",
         f'<w:r {W_NS}><w:sym w:font="Wingdings" w:char="F0E0"/></w:r>', " next ",
         f'<w:r {W_NS}><w:rPr><w:rFonts w:ascii="Wingdings" w:hAnsi="Wingdings"/></w:rPr><w:t>\uf0fc</w:t></w:r>',
         " done.")
    document.save(path)
    return path


def extract(path):
    src = SpecSource(SourceConfig(name="specs", kind="3gpp", paths=["/"]))
    docs = [d for d in src.extract(SourceItem("specs", "3gpp", str(path))) if isinstance(d, Document)]
    assert len(docs) == 1
    return docs[0]


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return extract(make_spec(str(tmp_path_factory.mktemp("ole") / "38999-i10.docx")))


def test_ole_equations_become_inline_or_display_latex(spec):
    assert f"The number of resource blocks ${FRACTION_LATEX}$ is given here." in spec.text
    assert "\n$$c(n)$$\n" in spec.text  # alone in its paragraph
    assert spec.extra["n_equations_ole"] == "2"
    assert spec.extra["n_equations_display"] == "1" and spec.extra["n_equations_inline"] == "1"


def test_what_cannot_be_converted_is_a_placeholder_counted_by_reason(spec):
    assert "A broken object [equation] and a drawing that claims to be one [equation] and an empty one end here." \
        in spec.text
    assert "An object whose part is gone [equation]." in spec.text
    assert spec.extra["equation_placeholders"] == "3"
    assert spec.extra["equation_placeholder_corrupt_ole"] == "1"
    assert spec.extra["equation_placeholder_not_equation"] == "1"
    assert spec.extra["equation_placeholder_missing_part"] == "1"
    assert spec.extra["equations_ole_empty"] == "1"


def test_symbol_font_characters_become_unicode(spec):
    assert "roll-off α = 0.22 and μs, then → next ✓ done." in spec.text
    assert not re.search("[\ue000-\uf8ff]", spec.text)
    assert spec.extra["symbol_chars_mapped"] == "3"  # the private-use text ones (w:sym is not text)


def test_build_pretrain_reports_each_placeholder_object_as_a_dropped_part(tmp_path):
    from telecom_etl.manifest import load_manifest
    from telecom_etl.pipelines.build_pretrain import run

    (tmp_path / "specs").mkdir()
    make_spec(str(tmp_path / "specs" / "38999-i10.docx"))
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(f"""version: 1
name: test
sources:
  - name: specs
    kind: 3gpp
    paths: [{tmp_path / "specs"}]
filters:
  profiles:
    default: [{{name: length, min_chars: 10}}]
dedup: {{exact: false, near: false}}
""")
    report = run(load_manifest(str(manifest)), str(tmp_path / "out"), ["--runner=FnApiRunner"], progress=False)
    assert report["balanced"], [c for c in report["checks"] if not c["ok"]]
    parts = report["stages"]["extract_parts"]
    # (the object without a relationship names no part: it is counted in the record's extra only)
    assert parts["dropped_by_rule"] == {"equation_placeholder.corrupt_ole": 1, "equation_placeholder.not_equation": 1}
    assert any(uri.endswith("#word/embeddings/oleObject3.bin")
               for uri in parts["examples"]["equation_placeholder.corrupt_ole"])
    assert report["stages"]["extract"]["kept"] == 1


# -- real files ---------------------------------------------------------------
@pytest.mark.corpus
@pytest.mark.parametrize("name,objects", [("38211-i10.docx", 800), ("21905-h20.docx", 28), ("38212-i10.docx", 1917)])
def test_real_specs_ole_equations_in_the_text_and_no_private_use_left(name, objects):
    # (38.212 is a package of 3,008 members: the default archive limits must let it through)
    doc = extract(corpus_file("specs", name))
    assert int(doc.extra.get("n_equations_ole", 0)) >= 0.95 * objects
    assert "[equation]" not in doc.text
    assert not re.search("[\ue000-\uf8ff]", doc.text)


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["38211-i10.docx", "38212-i10.docx", "38214-i10.docx", "21905-h20.docx"])
def test_real_objects_convert_to_latex_that_compiles(name):
    path = corpus_file("specs", name)
    outcomes = collections.Counter()
    with zipfile.ZipFile(path) as zf:
        members = sorted(n for n in zf.namelist() if n.startswith("word/embeddings/") and n.endswith(".bin"))
        for i, member in enumerate(members):
            try:
                latex, _ = ole_to_latex(zf.read(member))
            except EquationError as exc:
                outcomes[exc.reason] += 1
                continue
            if not latex:
                outcomes["empty"] += 1
            elif i % 5 == 0 and not _compiles(latex):  # latex2mathml on every fifth: ~5 ms a formula
                outcomes["does_not_compile"] += 1
            else:
                outcomes["converted"] += 1
    equations = len(members) - outcomes["not_equation"]
    assert outcomes["converted"] >= 0.95 * equations, outcomes
    assert outcomes["does_not_compile"] <= 0.01 * equations / 5 + 1, outcomes


def _compiles(latex: str) -> bool:
    try:
        mathml = latex2mathml.converter.convert(latex)
    except Exception:  # latex2mathml raises its own error types (and IndexError) on bad input
        return False
    return re.search(r">\\[A-Za-z]+<", mathml) is None  # an unknown command comes out as <mi>\cmd</mi>
