"""The card's plots: PNG bytes drawn with matplotlib's Agg canvas, from a :class:`CardData`.

Each plot answers one question a reviewer asks of a build and is skipped when its
data is absent (no scores yet, no duplicates found, no synthetic data):

===================  ==========================================================
``sources.png``      how much each source contributes (documents, tokens)
``lengths.png``      how long the documents are, kept vs dropped, with the
                     manifest's ``*_chars`` thresholds marked
``scores.png``       each quality score's distribution, kept vs dropped, with
                     the filter threshold that cut it
``drops.png``        what every stage dropped or failed, per rule
``dedup.png``        sizes of the duplicate clusters each dedup stage removed
``synth.png``        synthetic data: task mix, teachers, prompt versions
``rejections.png``   synthetic records rejected, per task and reason
===================  ==========================================================

Every PNG is exactly :data:`WIDTH_PX` x :data:`HEIGHT_PX` (no ``bbox_inches="tight"``,
so the size never depends on the labels) and carries no timestamp or version
metadata, so the same build gives the same bytes. Figures are drawn on their own
``FigureCanvasAgg``: no pyplot global state, no display needed.
"""
from __future__ import annotations

import io as _io
import math
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from telecom_etl.card.stats import PLACEHOLDER_SOURCES, CardData, human

DPI = 100
WIDTH_PX, HEIGHT_PX = 960, 540
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
KEPT, DROPPED, FAILED = "#1f77b4", "#ff7f0e", "#d62728"
OTHER_DROP = "#fdbf6f"  # dropped for a reason unrelated to the score shown
MAX_BARS = 25  # longer lists are cut to the largest entries, the rest summed as "other"


@dataclass
class Plot:
    name: str  # file name under OUT/plots/
    title: str
    caption: str  # one sentence a reader needs to read the plot
    png: bytes


def _figure() -> Figure:
    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _legend(ax, **kwargs) -> None:
    """The legend beside the axes, never over the bars or lines it explains (the figure's
    constrained layout makes room for it)."""
    kwargs.pop("loc", None)
    kwargs.pop("framealpha", None)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def _short(label: str, width: int = 38) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _top(items: Sequence[tuple], n: int = MAX_BARS) -> List[tuple]:
    """The ``n`` largest (label, value) items, the rest folded into one 'other (k)' bar."""
    items = list(items)
    if len(items) <= n:
        return items
    head, tail = items[: n - 1], items[n - 1:]
    return head + [(f"other ({len(tail)})", sum(v for _, v in tail))]


def _barh(ax, labels: Sequence[str], values: Sequence[float], color, title: str, xlabel: str) -> None:
    ys = list(range(len(labels)))
    ax.barh(ys, values, color=color)
    ax.set_yticks(ys, [_short(str(lab)) for lab in labels])
    ax.invert_yaxis()
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(xlabel)
    top = max(values) if values else 0
    for y, v in zip(ys, values):
        ax.text(v + top * 0.01, y, human(v), va="center", fontsize=8)
    ax.set_xlim(0, top * 1.15 if top else 1)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v)))
    ax.grid(axis="x", alpha=0.3)


# ---------------------------------------------------------------------------
# the plots
# ---------------------------------------------------------------------------

def plot_sources(data: CardData) -> Optional[Plot]:
    rows = [r for r in data.sources if r.documents and r.source not in PLACEHOLDER_SOURCES]
    if any(r.dataset == "pretrain" for r in rows):  # synthetic sets have their own plot
        rows = [r for r in rows if r.dataset == "pretrain"]
    if not rows:
        return None
    multi = len({r.dataset for r in rows}) > 1
    label = (lambda r: f"{r.dataset}: {r.source}") if multi else (lambda r: r.source)
    rows = sorted(rows, key=lambda r: (-r.tokens, label(r)))  # one order in both panels, so rows line up
    docs = _top([(label(r), r.documents) for r in rows])
    toks = _top([(label(r), r.tokens) for r in rows])
    fig = _figure()
    a, b = fig.subplots(1, 2)
    _barh(a, [k for k, _ in docs], [v for _, v in docs], KEPT, "Documents (rows) kept", "rows")
    _barh(b, [k for k, _ in toks], [v for _, v in toks], PALETTE[2], "Tokens kept (estimated)", "tokens")
    fig.suptitle("Documents and tokens per source")
    return Plot("sources.png", "Documents and tokens per source",
                "Rows and estimated tokens (about 4 characters per token) in the output, per manifest source.",
                _png(fig))


def _log_bins(values: Sequence[float], n: int = 40) -> List[float]:
    lo = max(1.0, min(values)) / 1.05  # margins: float error at the edges must not lose a value
    hi = max(lo * 1.5, max(values) * 1.05)
    a, b = math.log10(lo), math.log10(hi)
    return [10 ** (a + (b - a) * i / n) for i in range(n + 1)]


def _threshold_lines(ax, thresholds, lo: float, hi: float) -> None:
    for i, t in enumerate(thresholds):
        style = ("--", ":", "-.")[i % 3]
        ax.axvline(t.value, color="black", linestyle=style, linewidth=1.2,
                   label=_short(t.short or f"{t.label} = {t.value:g}", 34))


def plot_lengths(data: CardData) -> Optional[Plot]:
    groups = {k: [v for v in vals if v and v > 0] for k, vals in data.lengths.items()}
    groups = {k: v for k, v in groups.items() if v}
    dropped = [v for v in data.dropped_lengths if v and v > 0]
    if not groups:
        return None
    everything = [v for vals in groups.values() for v in vals] + dropped
    thresholds = [t for t in data.length_thresholds if t.value > 0]
    bins = _log_bins(everything + [t.value for t in thresholds])
    fig = _figure()
    ax = fig.subplots()
    names = sorted(groups, key=lambda k: (-len(groups[k]), k))
    shown = names[:len(PALETTE) - 1]
    ax.hist([groups[k] for k in shown], bins=bins, stacked=True, color=PALETTE[:len(shown)],
            label=[f"kept: {k} ({len(groups[k]):,})" for k in shown])
    rest = [v for k in names[len(shown):] for v in groups[k]]
    if rest:
        ax.hist(rest, bins=bins, histtype="step", color=PALETTE[-1], label=f"kept: other ({len(rest):,})")
    if dropped:
        ax.hist(dropped, bins=bins, histtype="step", color="#555555", linewidth=1.5, linestyle="-",
                label=f"dropped ({len(dropped):,})")
    _threshold_lines(ax, thresholds, bins[0], bins[-1])
    ax.set_xscale("log")
    ax.set_xlabel("characters per document (log scale; ~4 characters per token)")
    ax.set_ylabel("documents")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Document length distribution")
    ax.grid(alpha=0.3)
    _legend(ax, fontsize=8, loc="best")
    return Plot("lengths.png", "Length distribution",
                "Characters per kept document, stacked by kind (or source); the outline shows dropped documents; "
                "dashed lines are the manifest's length thresholds.", _png(fig))


def plot_scores(data: CardData) -> Optional[Plot]:
    dists = [d for d in data.scores if d.kept or d.dropped][:6]
    if not dists:
        return None
    fig = _figure()
    cols = min(3, len(dists))
    rows = math.ceil(len(dists) / cols)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(dists):]:
        ax.set_visible(False)
    for ax, d in zip(axes.flat, dists):
        values = d.kept + d.dropped + [t.value for t in d.thresholds]
        lo, hi = min(values), max(values)
        if hi == lo:
            lo, hi = lo - 0.5, hi + 0.5
        bins = [lo + (hi - lo) * i / 30 for i in range(31)]
        series, colors, labels = [], [], []
        mine, other = d.dropped_split()
        for values, color, label in ((d.kept, KEPT, "kept"), (mine, FAILED, "dropped by this filter"),
                                     (other, OTHER_DROP, "dropped by other rules")):
            if values:
                series.append(values), colors.append(color), labels.append(f"{label} ({len(values):,})")
        ax.hist(series, bins=bins, stacked=True, color=colors, label=labels)
        _threshold_lines(ax, d.thresholds, lo, hi)
        ax.set_title(_short(d.key, 40), fontsize=10)
        ax.set_xlabel("score")
        ax.set_ylabel("documents")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        _legend(ax, fontsize=7, loc="best", framealpha=0.8)
    fig.suptitle("Quality scores (threshold marked)")
    more = len([d for d in data.scores if d.kept or d.dropped]) - len(dists)
    caption = ("Distribution of each score the filters wrote: kept documents, documents dropped by the filter "
               "that owns the score (red) and by any other rule (light); black lines are that filter's thresholds.")
    if more > 0:
        caption += f" {more} more score(s) are listed in the card's table only."
    return Plot("scores.png", "Quality-score distributions", caption, _png(fig))


def plot_drops(data: CardData) -> Optional[Plot]:
    drops = sorted(data.drops, key=lambda d: (-d.n, d.stage, d.rule))
    if not drops:
        return None
    items = _top([((f"{d.stage}: {d.rule}", d.outcome), d.n) for d in drops])
    fig = _figure()
    ax = fig.subplots()
    labels = [k[0] if isinstance(k, tuple) else k for k, _ in items]
    colors = [(FAILED if k[1] == "failed" else DROPPED) if isinstance(k, tuple) else "#7f7f7f" for k, _ in items]
    _barh(ax, labels, [v for _, v in items], colors, "", "records (or files, for extract)")
    from matplotlib.patches import Patch

    _legend(ax, handles=[Patch(color=DROPPED, label="dropped on purpose (rule)"),
                       Patch(color=FAILED, label="failed (error)")], fontsize=8, loc="lower right")
    synth_only = bool(data.synthetic) and not any(d.name == "pretrain" for d in data.datasets)
    title = "Rejections per stage and reason" if synth_only else "Drops per stage and rule"
    ax.set_title(title)
    return Plot("drops.png", title, "What each stage removed and why (from report.json); "
                "failures are inputs or records that raised an error and went to rejects/.", _png(fig))


def plot_dedup(data: CardData) -> Optional[Plot]:
    clusters = {s: c for s, c in data.cluster_sizes.items() if c}
    if not clusters:
        return None
    fig = _figure()
    ax = fig.subplots()
    stages = sorted(clusters)
    width = 0.8 / len(stages)
    sizes = sorted({s for c in clusters.values() for s in c})
    pos = {s: i for i, s in enumerate(sizes)}
    for j, stage in enumerate(stages):
        c = clusters[stage]
        ax.bar([pos[s] + j * width for s in sorted(c)], [c[s] for s in sorted(c)], width=width,
               color=PALETTE[j % len(PALETTE)],
               label=f"{stage}: {sum(c.values()):,} clusters, {sum((s - 1) * n for s, n in c.items()):,} removed")
    ax.set_xticks([pos[s] + width * (len(stages) - 1) / 2 for s in sizes], [str(s) for s in sizes])
    if len(sizes) > 20:
        for k, label in enumerate(ax.get_xticklabels()):
            label.set_visible(k % math.ceil(len(sizes) / 20) == 0)
    ax.set_xlabel("cluster size (kept record + its duplicates)")
    ax.set_ylabel("clusters")
    if max(n for c in clusters.values() for n in c.values()) > 50:
        ax.set_yscale("log")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Duplicate cluster sizes")
    ax.grid(axis="y", alpha=0.3)
    _legend(ax, fontsize=8)
    return Plot("dedup.png", "Dedup cluster sizes",
                "How many duplicate clusters of each size every dedup stage found; each cluster keeps one record.",
                _png(fig))


def plot_synth(data: CardData) -> Optional[Plot]:
    panels = []
    for ds, facets in data.facets.items():
        for col in ("task", "task_family", "teacher", "model", "teacher_model", "prompt_version", "decided_by",
                    "chosen_model"):
            if col in facets and len(panels) < 6:
                panels.append((f"{ds}: {col}", facets[col]))
    if not panels:
        return None
    fig = _figure()
    ncols = min(3, len(panels))
    grid = fig.subplots(math.ceil(len(panels) / ncols), ncols, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for i, (ax, (title, counts)) in enumerate(zip(axes, panels)):
        items = _top(counts, 15)
        _barh(ax, [k for k, _ in items], [v for _, v in items], PALETTE[i % len(PALETTE)], title, "records")
    fig.suptitle("Synthetic data: task mix, teachers, prompt versions")
    return Plot("synth.png", "Synthetic task mix",
                "Records per task, teacher model and prompt version in the synthetic datasets.", _png(fig))


def plot_rejections(data: CardData) -> Optional[Plot]:
    if not data.rejections:
        return None
    by_reason: dict = {}
    for r in data.rejections:
        by_reason[r.reason] = by_reason.get(r.reason, 0) + r.n
    reasons = [k for k, _ in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0]))]
    shown = reasons[:len(PALETTE) - 1]
    tasks = sorted({r.task for r in data.rejections},
                   key=lambda t: (-sum(r.n for r in data.rejections if r.task == t), t))[:MAX_BARS]
    fig = _figure()
    ax = fig.subplots()
    left = [0] * len(tasks)
    groups = [(reason, [reason]) for reason in shown]
    if len(reasons) > len(shown):
        groups.append((f"other ({len(reasons) - len(shown)} reasons)", reasons[len(shown):]))
    for i, (label, members) in enumerate(groups):
        widths = [sum(r.n for r in data.rejections if r.task == t and r.reason in members) for t in tasks]
        ax.barh(range(len(tasks)), widths, left=left, color=PALETTE[i % len(PALETTE)], label=_short(label, 40))
        left = [a + b for a, b in zip(left, widths)]
    ax.set_yticks(range(len(tasks)), [_short(t) for t in tasks])
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("records rejected")
    ax.set_title("Synthetic records rejected, per task and reason")
    ax.grid(axis="x", alpha=0.3)
    _legend(ax, fontsize=8, loc="best")
    return Plot("rejections.png", "Rejections per task and reason",
                "Why synthetic records were rejected (validation, parsing, dedup, budget...), per task.", _png(fig))


PLOTTERS: List[Callable[[CardData], Optional[Plot]]] = [plot_sources, plot_lengths, plot_scores, plot_drops,
                                                        plot_dedup, plot_synth, plot_rejections]


def build_plots(data: CardData) -> List[Plot]:
    """Every plot whose data exists, in card order."""
    return [p for p in (fn(data) for fn in PLOTTERS) if p is not None]
