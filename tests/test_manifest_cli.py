"""Manifests, the CLI and Beam options: one clear line for every user mistake."""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile

import pytest
from click.testing import CliRunner

from telecom_etl.cli import main
from telecom_etl.manifest import ManifestError, load_manifest
from telecom_etl.pipelines.options import OptionsError, is_local, pipeline_options, source_setup_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = [sys.executable, "-m", "telecom_etl.cli"]


def test_sample_manifest_loads_and_resolves_paths_relative_to_itself():
    m = load_manifest(os.path.join(ROOT, "manifests", "sample.yaml"))
    assert [s.kind for s in m.sources] == ["3gpp", "paper", "code"]
    assert all(os.path.isabs(p) and os.path.exists(p.split("*")[0].rstrip("/") or "/") for s in m.sources
               for p in s.paths)


@pytest.mark.parametrize("body, expected", [
    ("sources:\n  - name: a\n    kind: 3gpp\n    paths: [.]\n    colour: red\n",
     ":5: sources[0].colour: unknown key"),
    ("sources:\n  - name: a\n    kind: pdfs\n    paths: [.]\n",
     ":3: sources[0].kind: unknown source kind 'pdfs'"),
    ("sources:\n  - name: a\n    kind: 3gpp\n    paths: [./does-not-exist]\n",
     ":4: sources[0].paths[0]: no such file or directory"),
    ("sources:\n  - name: a\n    kind: 3gpp\n    paths: .\n",
     ":4: sources[0].paths: must be a list (write [value] for a single one)"),
    ("sources:\n  - name: a\n    kind: 3gpp\n    paths: [.]\ndedup:\n  threshold: 2\n",
     ":6: dedup.threshold: must be less than 1"),
    ("sources:\n  - name: a\n    kind: 3gpp\n    paths: [.]\nfilters:\n  profiles:\n    default:\n"
     "      - {name: length, min_chars: 10, colour: 1}\n",
     ":8: filters.profiles.default[0].colour: filter 'length' has no parameter 'colour'"),
    ("sources:\n  - name: a\n    kind: 3gpp\n    paths: [.]\n    filter_profile: strict\n",
     ":5: sources[0].filter_profile: unknown profile 'strict'"),
    ("sources: [\n", ": not valid YAML"),
    ("- just\n- a list\n", ":1: a manifest is a mapping"),
    ("name: x\n", ":1: sources: required field is missing"),
])
def test_manifest_mistakes_name_the_line_and_field(write_manifest, body, expected):
    path = write_manifest(body)
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    assert str(err.value).startswith(path)
    assert expected in str(err.value)
    assert "\n" not in str(err.value)


def test_cli_help_explains_commands_and_beam_options():
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0 and "build-pretrain" in top.output and "Dataflow" in top.output
    sub = runner.invoke(main, ["build-pretrain", "--help"])
    assert sub.exit_code == 0
    for text in ("--manifest", "--output", "DataflowRunner", "multi_processing", "sample.yaml"):
        assert text in sub.output


def test_cli_bad_manifest_is_one_line_and_exit_code_2(write_manifest):
    path = write_manifest("sources:\n  - name: a\n    kind: nope\n    paths: [.]\n")
    proc = subprocess.run(CLI + ["build-pretrain", "-m", path], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("telecom-etl: error: ") and "unknown source kind" in lines[0]


def test_cli_missing_manifest_and_bad_option(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["build-pretrain", "-m", str(tmp_path / "nope.yaml")])
    assert res.exit_code == 2 and "manifest not found" in res.output
    res = runner.invoke(main, ["build-pretrain", "--check", "--runnr", "DirectRunner"])
    assert res.exit_code == 2 and "unknown option --runnr (did you mean --runner?)" in res.output


def test_cli_check_validates_without_running():
    res = CliRunner().invoke(main, ["build-pretrain", "--check", "-m", os.path.join(ROOT, "manifests", "sample.yaml")])
    assert res.exit_code == 0 and "OK (3 sources)" in res.output


def test_cli_runs_the_sample_in_a_subprocess(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(CLI + ["build-pretrain", "--no-progress", "-o", str(out)], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "accounting: all counts add up" in proc.stdout
    assert (out / "report.json").exists() and list((out / "pretrain").glob("part-*.parquet"))


def test_local_runner_is_the_default_and_beam_options_pass_through():
    opts = pipeline_options(["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"])
    all_opts = opts.get_all_options()
    assert all_opts["runner"] == "DirectRunner" and all_opts["direct_num_workers"] == 2
    assert is_local("DirectRunner") and not is_local("DataflowRunner")
    with pytest.raises(OptionsError):
        pipeline_options(["--no_such_option", "1"])


def test_graph_type_check_is_off_unless_type_checking_is_asked_for():
    from telecom_etl.pipelines.options import without_graph_type_check

    opts = pipeline_options([])
    assert without_graph_type_check(opts, []) and opts.get_all_options()["pipeline_type_check"] is False
    args = ["--type_check_strictness", "ALL_REQUIRED"]
    opts = pipeline_options(args)
    assert not without_graph_type_check(opts, args) and opts.get_all_options()["pipeline_type_check"] is True
    args = ["--runtime_type_check"]
    assert not without_graph_type_check(pipeline_options(args), args)


def test_dataflow_options_ship_the_toolkit_with_setup_py():
    opts = pipeline_options(["--runner", "DataflowRunner", "--project", "p", "--region", "europe-west1",
                             "--temp_location", "gs://bucket/tmp"]).get_all_options()
    assert opts["setup_file"] == source_setup_file() and os.path.basename(opts["setup_file"]) == "setup.py"
    assert opts["project"] == "p" and opts["region"] == "europe-west1"
    # an explicit worker package wins
    opts = pipeline_options(["--runner", "DataflowRunner", "--extra_package", "dist/x.whl"]).get_all_options()
    assert opts["setup_file"] is None and opts["extra_packages"] == ["dist/x.whl"]


def test_worker_package_built_the_way_beam_builds_it_contains_the_namespace(tmp_path):
    """Beam's stager builds an sdist from --setup_file; installing it must give telecom_etl.*."""
    from apache_beam.runners.portability.stager import Stager

    sdist = Stager._build_setup_package(source_setup_file(), str(tmp_path))
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    for folder in ("core/record.py", "extractors/base.py", "filters/base.py", "pipelines/stage.py", "setup.py"):
        assert any(n.endswith(folder) for n in names), folder
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), sdist], check=True, capture_output=True)
    assert (target / "telecom_etl" / "record.py").exists()
    assert (target / "telecom_etl" / "extractors" / "base.py").exists()
    assert (target / "telecom_etl" / "pipelines" / "stage.py").exists()
    assert not (target / "filters").exists() and not (target / "extractors").exists()


def test_paths_in_options_and_filter_params_are_relative_to_the_manifest(tmp_path):
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "bench.json").write_text('{"question 0": {"question": "What is a mesh link?"}}')
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "a.py").write_text("print(1)\n")
    path = sub / "m.yaml"
    path.write_text("sources:\n  - name: c\n    kind: code\n    paths: [../code, 'file:///nonexistent/repo#main']\n"
                    "    options: {clone_cache: cache}\n"
                    "filters:\n  profiles:\n    default:\n      - {name: decontaminate, benchmarks: [bench.json]}\n")
    m = load_manifest(str(path))
    assert m.sources[0].options["clone_cache"] == str(sub / "cache")
    assert m.sources[0].paths[0] == str(tmp_path / "code")
    assert m.sources[0].paths[1] == "file:///nonexistent/repo#main"
    assert m.filters.profiles["default"][0].params["benchmarks"] == [str(sub / "bench.json")]


FILTER_MISTAKES = """\
sources:
  - name: a
    kind: text
    paths: [.]
filters:
  profiles:
    default: [{name: length, min_chars: ten}, {name: 3}, {name: length, min_chars: eleven}]
    code:
      - name: code_comment_share
        max_share: lots
      - {name: c4_lines, remove_citations: maybe, min_num_sentences: 2.5}
      - {name: code_alpha_share, exempt_languages: 3}
      - {name: telecom_keywords, terms_path: [a.txt, b.txt]}
      - {name: decontaminate, benchmarks: [{file: b.jsonl}]}
      - {name: gopher_quality, max_doc_words: null, stop_words: [the, 7]}
"""


def test_filter_parameter_mistakes_are_plain_words_in_file_order(write_manifest):
    """A wrong type for a filter parameter (whole number, number, true/false, list, file path) is
    one line at the parameter, in the manifest's words, never Python's (``invalid literal for
    int() with base 10``); problems on one line come out left to right, at their own index (a
    filter that fails validation does not shift the index of the ones after it)."""
    path = write_manifest(FILTER_MISTAKES)
    with pytest.raises(ManifestError) as err:
        load_manifest(path)
    f = "filters.profiles"
    assert str(err.value).splitlines() == [
        f"{path}:7: {f}.default[0].min_chars: must be a whole number (got 'ten')",
        f"{path}:7: {f}.default[1].name: must be text (got 3)",
        f"{path}:7: {f}.default[2].min_chars: must be a whole number (got 'eleven')",
        f"{path}:10: {f}.code[0].max_share: must be a number (got 'lots')",
        f"{path}:11: {f}.code[1].remove_citations: must be true or false (got 'maybe')",
        f"{path}:12: {f}.code[2].exempt_languages: must be a list of texts (got 3)",
        f"{path}:13: {f}.code[3].terms_path: must be a file path or null (got a list)",
        f"{path}:14: {f}.code[4].benchmarks: must be a list of file paths (got a list)",
        f"{path}:15: {f}.code[5].stop_words: must be a list of texts or null (got a list)",
    ]


def test_filter_parameters_of_the_right_type_are_taken(write_manifest):
    from telecom_etl.filters import build_filter

    path = write_manifest("sources:\n  - {name: a, kind: text, paths: [.]}\nfilters:\n  profiles:\n    default:\n"
                          "      - {name: language, allowed: en}\n"  # one text where a list is expected: [text]
                          "      - {name: code_comment_share, max_share: 1}\n"
                          "      - {name: length, max_chars: null}\n")
    lang, share, length = (build_filter(s) for s in load_manifest(path).filters.profiles["default"])
    assert (lang.allowed, share.max_share, length.max_chars) == (frozenset({"en"}), 1.0, None)
