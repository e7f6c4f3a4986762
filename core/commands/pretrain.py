"""``telecom-etl build-pretrain``."""
from __future__ import annotations

import os

import click

from telecom_etl.cli import UserError, command_options, exit_now
from telecom_etl.manifest import DEFAULT_MANIFEST, ManifestError, load_manifest


def default_manifest() -> str:
    """manifests/sample.yaml of the current folder, else of the source checkout."""
    if os.path.exists(DEFAULT_MANIFEST):
        return DEFAULT_MANIFEST
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(here, DEFAULT_MANIFEST)


@click.command("build-pretrain", short_help="Stage 1: specs, papers, code -> filtered, deduplicated Parquet.",
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("--manifest", "-m", "manifest_path", default=None, metavar="FILE",
              help="Manifest YAML listing sources and settings [default: manifests/sample.yaml].")
@click.option("--output", "-o", default="out", show_default=True, metavar="DIR",
              help="Output folder (local path or gs://...). Re-running into it replaces its shards.")
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Print per-stage progress lines to stderr on long runs.")
@click.option("--extract-workers", type=click.IntRange(1, 256), default=None, metavar="N",
              help="Inputs extracted at once, each in its own child process (overrides the manifest's "
                   "extract_workers) [default: the usable cores on the local in-process DirectRunner, "
                   "else 1].")
@click.option("--check", is_flag=True, help="Validate the manifest and options, then exit without running.")
@click.argument("beam_args", nargs=-1, type=click.UNPROCESSED)
def build_pretrain(manifest_path, output, progress, extract_workers, check, beam_args):
    """Build the continual pre-training corpus from a manifest.

    Lists the manifest's sources, extracts text (3GPP zip/docx/doc/PDF, papers, code),
    normalises, filters (per-source profiles), removes exact and near duplicates and
    writes OUT/pretrain/*.parquet, OUT/dropped/, OUT/rejects/ and OUT/report.json.

    Any further arguments are Apache Beam pipeline options, passed through unchanged:

    \b
      local, several processes:
        --direct_running_mode multi_processing --direct_num_workers 2
      Dataflow (the toolkit is packaged for workers from setup.py):
        --runner DataflowRunner --project P --region europe-west1 \\
        --temp_location gs://BUCKET/tmp --output gs://BUCKET/out
    """
    from telecom_etl.pipelines.options import OptionsError, pipeline_options
    from telecom_etl.runfolder import Interrupted, OutputError, preflight

    path = manifest_path or default_manifest()
    try:
        manifest = load_manifest(path)
        if extract_workers is not None:
            manifest = manifest.model_copy(update={"extract_workers": extract_workers})
        pipeline_options(list(beam_args), ours=command_options())
        preflight(output, keep_created=not check)  # an unusable output fails now, not after hours
    except (ManifestError, OptionsError, OutputError) as exc:
        raise UserError(str(exc)) from None
    if check:
        click.echo(f"{path}: OK ({len(manifest.sources)} sources); output {output} is writable")
        return
    from telecom_etl.pipelines.build_pretrain import run
    from telecom_etl.pipelines.report import failed_everything, summary

    try:
        report = run(manifest, output, list(beam_args), progress=progress)
    except (ManifestError, OutputError) as exc:  # settings checked while the graph is built; a failed write
        raise UserError(str(exc)) from None
    except Interrupted as exc:  # a signal during the commit: the line is printed
        exit_now(exc.exit_code)
    click.echo(summary(report))
    click.echo(f"wrote {output}/pretrain/ ({len(report['shards'])} shards), {output}/report.json, "
               f"{output}/README.md (dataset card) and {output}/report.html")
    failure = failed_everything(report, output)
    if failure:  # nothing useful was made: say so in one line and exit non-zero
        click.echo(f"telecom-etl: error: {failure}", err=True)
    exit_now(0 if report["balanced"] and not failure else 1)
