"""The ``telecom-etl`` command line.

Commands live next to the code they run and are loaded lazily (``telecom-etl --help``
stays fast). A new command is one line in :data:`COMMANDS`.
"""
from __future__ import annotations

import importlib
import logging
import sys

import click

from telecom_etl import __version__

#: command name -> "module:attribute" of a click command
COMMANDS = {
    "build-pretrain": "telecom_etl.commands.pretrain:build_pretrain",
    "train-classifier": "telecom_etl.commands.train_classifier:train_classifier",
    "synth-instructions": "telecom_etl.commands.synth_instructions:synth_instructions",
    "synth-preferences": "telecom_etl.commands.synth_preferences:synth_preferences",
    "inspect": "telecom_etl.commands.inspect:inspect",
}


class UserError(click.ClickException):
    """A mistake in what the user asked for: printed as one line, exit code 2."""

    exit_code = 2

    def show(self, file=None):
        for line in self.format_message().splitlines() or [""]:  # several problems: one line each
            click.echo(f"telecom-etl: error: {line}", err=True, file=file)


#: Beam messages that say nothing to a user of this tool (import-time and graph-construction notes)
BEAM_NOISE = ("requested in with_outputs() but not declared", "apitools not found",
              "Discarding unparseable args", "Make sure that locally built Python SDK docker image")


#: Beam loggers that log an exception a pipeline then raises: the command reports it once
#: (one line for a write error, the traceback for a bug), so their copy is left out
BEAM_RERAISED = ("apache_beam.runners.common", "apache_beam.runners.worker", "apache_beam.runners.portability",
                 "apache_beam.runners.direct")


class _QuietBeam(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.name.startswith(BEAM_RERAISED):
            return False
        message = record.getMessage()
        return not any(noise in message for noise in BEAM_NOISE)


def setup_logging(level: int = logging.WARNING) -> None:
    """One handler on the root logger (Beam logs through it), without Beam's noise."""
    root = logging.getLogger()
    if not any(getattr(h, "telecom_etl", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.telecom_etl = True
        handler.setFormatter(logging.Formatter("telecom-etl: %(levelname)s: %(name)s: %(message)s"))
        handler.addFilter(_QuietBeam())
        root.addHandler(handler)
    root.setLevel(level)


def command_options() -> list:
    """The option names of the command being run (``--output``, ``-o``...), for "did you mean"."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return []
    names = [o for p in ctx.command.params if isinstance(p, click.Option) for o in p.opts + p.secondary_opts]
    return sorted(set(names) | {"--help"})


def exit_now(code: int = 0) -> None:
    """Exit without waiting for threads stuck in a hung parser.

    Beam fails an input whose extraction outlives ``extract_timeout_s`` but cannot stop
    the thread running it; a normal exit would wait for that thread forever. Everything
    is written and flushed by the time a command calls this.
    """
    import os
    import threading

    stuck = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    if not stuck:
        sys.exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(name for name in COMMANDS if self.get_command(ctx, name) is not None)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if exc.name == module:  # a command not built yet in this checkout
                return None
            raise


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="telecom-etl")
def main():
    """Build training data for telecom LLMs.

    \b
    Stage 1  build-pretrain       3GPP specs, papers and code -> clean, filtered,
                                  deduplicated Parquet for continual pre-training
    Stage 2  synth-instructions   teacher LLMs write grounded instruction pairs (SFT)
    Stage 3  synth-preferences    chosen/rejected pairs for alignment (DPO)

    Every command runs on Apache Beam (DirectRunner locally, Dataflow or any runner
    with the usual Beam options) and writes a report of what it kept, dropped and why.
    """
    setup_logging()  # before a command imports Beam (Beam warns at import time)


def run():  # pragma: no cover - console entry point wrapper
    sys.exit(main())


if __name__ == "__main__":  # python -m telecom_etl.cli
    main()
