"""Beam pipeline options: pass-through of every standard Beam flag, with local defaults.

* No ``--runner``: the DirectRunner (multi-process with ``--direct_running_mode
  multi_processing --direct_num_workers N``).
* A remote runner (Dataflow, Flink, Spark, ...) needs the toolkit on its workers: when
  the user gives no ``--setup_file``/``--extra_package``/container image, the
  ``setup.py`` of the source checkout is used (Beam builds an sdist of it and installs
  it on every worker).
* A misspelt or unknown flag is an error, not silently ignored.
"""
from __future__ import annotations

import argparse
import os
from typing import List, Optional, Sequence

from apache_beam.options.pipeline_options import (PipelineOptions, SetupOptions, StandardOptions,
                                                  WorkerOptions)

LOCAL_RUNNERS = {"directrunner", "fnapirunner", "bundlebaseddirectrunner", "swappingrunner", "prismrunner",
                 "interactiverunner"}


class OptionsError(ValueError):
    """A bad pipeline option, as one line."""


def _all_option_classes():
    seen, todo = [], list(PipelineOptions.__subclasses__())
    while todo:
        cls = todo.pop(0)
        if cls not in seen:
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    return seen


def _beam_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    for cls in _all_option_classes():
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:  # an option defined by two classes
            pass
    return parser


def unknown_options(beam_args: List[str]) -> List[str]:
    _, unknown = _beam_parser().parse_known_args(beam_args)
    return [u for u in unknown if u.startswith("-")]


def beam_option_names() -> List[str]:
    return sorted(o for o in _beam_parser()._option_string_actions if o.startswith("--"))


def argument_problems(beam_args: List[str], ours: Sequence[str] = ()) -> List[str]:
    """What is wrong with the arguments left over for Beam: unknown options (with the
    closest known one, ours or Beam's) and stray positional arguments."""
    from telecom_etl.registry import did_you_mean

    _, unknown = _beam_parser().parse_known_args(beam_args)
    known = list(ours) + beam_option_names()
    problems, after_option = [], False
    for token in unknown:
        if token.startswith("-") and token != "-":
            flag = token.split("=", 1)[0]
            problems.append(f"unknown option {flag}" + (did_you_mean(flag, known) or
                                                         " (neither an option of this command nor a Beam pipeline "
                                                         "option; see --help)"))
            after_option = "=" not in token
        elif after_option:  # the value of the unknown option just reported
            after_option = False
        else:
            problems.append(f"unexpected argument {token!r} (options start with --; see --help)")
    return problems


def source_setup_file() -> Optional[str]:
    """The setup.py of the source checkout this toolkit runs from, if any."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidate = os.path.join(os.path.dirname(here), "setup.py")
    return candidate if os.path.exists(candidate) else None


def is_local(runner: Optional[str]) -> bool:
    if runner is None:
        return True
    name = runner if isinstance(runner, str) else type(runner).__name__
    return name.rsplit(".", 1)[-1].lower() in LOCAL_RUNNERS


def same_machine_workers(opts: PipelineOptions) -> bool:
    """A portable runner whose SDK workers run on this machine, from this installation: LOOPBACK,
    or an EXTERNAL worker pool at a loopback address (``python -m apache_beam.runners.worker.worker_pool_main``).
    Such workers import the toolkit as it is installed here; nothing needs staging."""
    from apache_beam.options.pipeline_options import PortableOptions

    portable = opts.view_as(PortableOptions)
    kind = (portable.environment_type or "").upper()
    if kind == "LOOPBACK":
        return True
    if kind == "EXTERNAL":
        config = (portable.environment_config or "").strip()
        host = config.rsplit(":", 1)[0].strip("[]") if ":" in config else config
        return host in ("localhost", "127.0.0.1", "::1")
    return False


#: Beam flags that ask for type checking: with none of them, :func:`without_graph_type_check` applies
TYPE_CHECK_FLAGS = ("--type_check_strictness", "--type_check_additional", "--runtime_type_check",
                    "--performance_runtime_type_check")


def without_graph_type_check(opts: PipelineOptions, beam_args: Sequence[str]) -> bool:
    """Turn Beam's construction-time type check off unless the user asked for type checking.

    Beam infers the output type of every step from its bytecode while the graph is built (~40 %
    of building build-pretrain's graph); none of our steps declares type hints for it to check,
    and the elements are the same whatever coder carries them. Returns whether it was turned off."""
    from apache_beam.options.pipeline_options import TypeOptions

    if any(a.split("=", 1)[0] in TYPE_CHECK_FLAGS for a in beam_args):
        return False
    opts.view_as(TypeOptions).pipeline_type_check = False
    return True


def pipeline_options(beam_args: List[str], setup_file: Optional[str] = None,
                     ours: Sequence[str] = ()) -> PipelineOptions:
    """Beam options from the arguments a command did not know; ``ours`` are the command's own
    option names, suggested when a misspelt one lands here."""
    from telecom_etl.pipelines import beamcache

    beamcache.install()  # graph construction and the runner's start-up without repeated introspection
    beam_args = list(beam_args)
    bad = argument_problems(beam_args, ours)
    if bad:
        raise OptionsError("; ".join(bad))
    opts = PipelineOptions(beam_args)
    std = opts.view_as(StandardOptions)
    if not std.runner:
        std.runner = "DirectRunner"
    if not is_local(std.runner) and not same_machine_workers(opts):
        setup = opts.view_as(SetupOptions)
        worker = opts.view_as(WorkerOptions)
        if not (setup.setup_file or setup.extra_packages or getattr(worker, "sdk_container_image", None)):
            setup.setup_file = setup_file or source_setup_file()
            if not setup.setup_file:
                raise OptionsError(f"runner {std.runner} needs the toolkit on its workers: pass --setup_file "
                                   "(the repository's setup.py), --extra_package (a built wheel) or "
                                   "--sdk_container_image")
    return opts
