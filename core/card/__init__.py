"""Make an output folder explain itself: a dataset card, plots and an offline HTML report.

API (for every command that writes an output folder)::

    from telecom_etl.card import write_card

    paths = write_card(output, report=None, manifest=None, title=None)

``write_card`` discovers which datasets exist in ``output`` (any folder of Parquet
shards: ``pretrain/``, ``sft/``, ``preference/``, ``dropped/``, ``rejects/``, ...),
reads ``output/report.json`` unless ``report`` is given, and writes

* ``output/README.md``: the Hugging Face dataset card (YAML ``configs``/``data_files``
  so ``load_dataset(output, config)`` finds the splits; exact row counts; licences,
  sources, tokens, filters and thresholds, dedup, synthetic task mix, run facts);
* ``output/plots/*.png``: the plots the card embeds (see :mod:`telecom_etl.card.plots`);
* ``output/report.html``: the same content as one self-contained page (images inline).

``manifest`` is a :class:`telecom_etl.manifest.Manifest` or a plain dict (filter
profiles, dedup settings, sources); ``title`` defaults to the manifest's ``name``.
Synthetic-data commands add their own figures to the report dict under keys of their
choosing (``teachers``, ``usage``, ``cost``...): the card shows every top-level key it
does not render elsewhere under "Run facts", and counts ``task``, ``teacher``/``model``
and ``prompt_version`` columns of their Parquet by itself. Everything is data-driven:
sections without data are left out, nothing needs registering.

Paths may be local or ``gs://`` (Beam FileSystems). The files are deterministic: the
same folder gives the same bytes (no timestamps).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from telecom_etl import io


@dataclass
class CardFiles:
    readme: str
    html: str
    plots: List[str]


def write_card(output: str, report: Optional[dict] = None, manifest=None, title: Optional[str] = None,
               shown_as: Optional[str] = None) -> CardFiles:
    """Write ``README.md``, ``plots/*.png`` and ``report.html`` into ``output``; returns their paths.

    ``shown_as``: the folder's name in the text when ``output`` is a run's staging folder."""
    from telecom_etl.card.card import render_card
    from telecom_etl.card.html import render_html
    from telecom_etl.card.plots import build_plots
    from telecom_etl.card.stats import collect

    data = collect(output, report=report, manifest=manifest, title=title, shown_as=shown_as)
    plots = build_plots(data)
    plot_dir = io.join(output, "plots")
    written = []
    for p in plots:
        path = io.join(plot_dir, p.name)
        io.write_bytes_atomic(path, p.png)
        written.append(path)
    # plots of an earlier run that this one no longer draws (no scores this time, say)
    if io.has_scheme(plot_dir) or io.exists(plot_dir):  # object stores have no folders to test for
        keep = {p.name for p in plots}
        for stale in io.match(io.join(plot_dir, "*.png")):
            name = stale.rsplit("/", 1)[-1]
            if name not in keep:
                io.remove_matching(plot_dir, name)
    readme = io.join(output, "README.md")
    io.write_bytes_atomic(readme, render_card(data, plots).encode("utf-8"))
    html = io.join(output, "report.html")
    io.write_bytes_atomic(html, render_html(data, plots).encode("utf-8"))
    return CardFiles(readme=readme, html=html, plots=written)


__all__ = ["CardFiles", "write_card"]
