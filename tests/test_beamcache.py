"""The memoised Beam introspections answer as Beam does (pipelines/beamcache.py)."""
from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.transforms import core, userstate

from telecom_etl.pipelines import beamcache

beamcache.install()


def test_views_share_the_options_values():
    opts = PipelineOptions(["--direct_num_workers", "3"])
    std = opts.view_as(StandardOptions)
    assert opts.view_as(StandardOptions) is std  # one view per options object and class
    std.runner = "DirectRunner"
    assert opts.view_as(StandardOptions).runner == "DirectRunner"
    assert opts.view_as(DirectOptions).direct_num_workers == 3
    assert opts.get_all_options()["runner"] == "DirectRunner"
    other = PipelineOptions([])
    assert other.view_as(StandardOptions) is not std and other.view_as(StandardOptions).runner is None


class _Stateful(beam.DoFn):
    COUNT = userstate.CombiningValueStateSpec("count", sum)

    def process(self, element, count=beam.DoFn.StateParam(COUNT), window=beam.DoFn.WindowParam):
        yield element


def test_signatures_and_specs_as_beam_computes_them():
    original_args = core.get_function_args_defaults.__wrapped__
    original_specs = userstate.get_dofn_specs.__wrapped__

    def f(a, b=2, *rest, c=3, **kw):
        return a

    for fn in (f, lambda x, y=1: x, _Stateful().process, _Stateful.process, len, str.strip):
        assert core.get_function_args_defaults(fn) == original_args(fn)
        assert core.get_function_args_defaults(fn) == original_args(fn)  # from the cache
    args, defaults = core.get_function_args_defaults(f)
    args.append("changed")  # a caller's copy: the cache is not affected
    assert core.get_function_args_defaults(f) == original_args(f)

    for dofn in (_Stateful(), beam.Map(lambda x: x).fn, beam.FlatMap(lambda x, y=2: [x]).fn):
        assert userstate.get_dofn_specs(dofn) == original_specs(dofn)
        assert userstate.get_dofn_specs(dofn) == original_specs(dofn)
    assert userstate.is_stateful_dofn(_Stateful()) and not userstate.is_stateful_dofn(beam.Map(len).fn)
