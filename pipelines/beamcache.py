"""Memoise two of Beam's pure, repeated introspections (start-up cost, issue 20 item 6).

Building and running a graph of a few hundred transforms spends most of its CPU in two
places that compute the same answer again and again (measured on a one-file
``build-pretrain``: about 5 of its 11 CPU-seconds):

* ``PipelineOptions.view_as(cls)`` builds a fresh argparse parser of every option of
  ``cls`` and parses the flags again, for each of ~1,800 calls (type checks, ``apply``):
  a view is a window on the options' shared value store, so one view per (options, class)
  is the same view;
* ``get_function_args_defaults(f)`` runs ``inspect.signature`` over every method of every
  DoFn, on each of ~19,000 calls (``get_dofn_specs`` while applying, translating and in
  every bundle processor): the answer depends on the function alone, so it is kept per
  function (bound methods by their underlying function), and each caller gets its own
  copy of the lists; ``get_dofn_specs(dofn)`` (the state and timer specs, from those
  signatures: ~2,500 calls) is kept per DoFn instance.

Nothing else changes: the same graph, the same coders, the same bytes. ``install()`` is
idempotent and leaves Beam as it is when these functions are not where this Beam version
kept them.
"""
from __future__ import annotations

import types
import weakref

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    try:
        from apache_beam.options import pipeline_options
        from apache_beam.transforms import core, userstate
    except ImportError:  # pragma: no cover
        return
    _cache_view_as(pipeline_options.PipelineOptions)
    _cache_args_defaults(core)
    _cache_dofn_specs(userstate)


def _cache_view_as(options_cls) -> None:
    original = getattr(options_cls, "view_as", None)
    if original is None:  # pragma: no cover - another Beam
        return
    views: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    def view_as(self, cls):
        try:
            per = views.get(self)
            if per is None:
                per = views[self] = {}
        except TypeError:  # pragma: no cover - not weak-referenceable
            return original(self, cls)
        view = per.get(cls)
        if view is None or view._all_options is not self._all_options:
            view = per[cls] = original(self, cls)
        return view

    view_as.__doc__ = original.__doc__
    view_as.__wrapped__ = original
    options_cls.view_as = view_as


def _cache_args_defaults(core) -> None:
    original = getattr(core, "get_function_args_defaults", None)
    if original is None:  # pragma: no cover - another Beam
        return
    by_function: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
    by_method: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    def get_function_args_defaults(f):
        if isinstance(f, types.MethodType) and isinstance(f.__func__, types.FunctionType):
            cache, key = by_method, f.__func__
        elif isinstance(f, types.FunctionType):
            cache, key = by_function, f
        else:  # partials, callable objects, builtins: as Beam does it
            return original(f)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = original(f)
        args, defaults = hit
        return list(args), list(defaults)

    get_function_args_defaults.__doc__ = original.__doc__
    get_function_args_defaults.__wrapped__ = original
    core.get_function_args_defaults = get_function_args_defaults


def _cache_dofn_specs(userstate) -> None:
    original = getattr(userstate, "get_dofn_specs", None)
    if original is None:  # pragma: no cover - another Beam
        return
    by_dofn: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    def get_dofn_specs(dofn):
        try:
            hit = by_dofn.get(dofn)
        except TypeError:  # pragma: no cover - not weak-referenceable or not hashable
            return original(dofn)
        if hit is None:
            hit = by_dofn[dofn] = original(dofn)
        states, timers = hit
        return set(states), set(timers)

    get_dofn_specs.__doc__ = original.__doc__
    get_dofn_specs.__wrapped__ = original
    userstate.get_dofn_specs = get_dofn_specs
