"""``OUT/report.html``: the card as one self-contained page that opens offline.

Same blocks as the card (:func:`telecom_etl.card.card.blocks`), rendered to HTML with
inline CSS and every plot embedded as a ``data:image/png;base64`` URI: no scripts, no
fonts, no links to fetch, so it opens from a laptop, a bucket download or a CI
artefact alike.
"""
from __future__ import annotations

import base64
import html as _html
import re
from typing import List, Sequence

from telecom_etl.card.card import Block, blocks
from telecom_etl.card.plots import HEIGHT_PX, WIDTH_PX, Plot
from telecom_etl.card.stats import CardData

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#fff}
main{max-width:1040px;margin:0 auto;padding:24px 32px 64px}
h1{font-size:1.8em;margin:.2em 0 .4em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.88em;display:block;overflow-x:auto}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f6f8fa;padding:1px 4px;border-radius:4px;font-size:.92em}
pre{background:#f6f8fa;padding:12px;border-radius:6px;overflow-x:auto}pre code{padding:0;background:none}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figcaption{color:#57606a;font-size:.9em;margin-top:.3em}nav{font-size:.9em;margin-bottom:1em}
td code{white-space:nowrap}
nav a{margin-right:1em}
"""

_NUMERIC = re.compile(r"^-?[\d,.]+%?[kMB]?B?$")


def _inline(text: str) -> str:
    """Escape, then the two bits of Markdown the blocks use: `code` and **bold**."""
    out = []
    for i, part in enumerate(str(text).split("`")):
        esc = _html.escape(part)
        if i % 2:
            out.append(f"<code>{esc}</code>")
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", esc))
    return "".join(out)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _render(items: Sequence[Block]) -> List[str]:
    out: List[str] = []
    for b in items:
        if b.kind in ("h2", "h3"):
            out.append(f'<{b.kind} id="{_anchor(b.text)}">{_inline(b.text)}</{b.kind}>')
        elif b.kind == "p":
            out.append(f"<p>{_inline(b.text)}</p>")
        elif b.kind == "table":
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(h)}</th>" for h in b.headers)
                       + "</tr></thead><tbody>")
            for row in b.rows:
                cells = []
                for c in row:
                    cls = ' class="num"' if _NUMERIC.match(str(c)) else ""
                    cells.append(f"<td{cls}>{_inline(c)}</td>")
                out.append("<tr>" + "".join(cells) + "</tr>")
            out.append("</tbody></table>")
        elif b.kind == "img":
            p: Plot = b.plot
            out.append(f'<figure id="plot-{_anchor(p.name)}"><img src="{data_uri(p.png)}" '
                       f'alt="{_html.escape(p.title)}" width="{WIDTH_PX}" height="{HEIGHT_PX}">'
                       f"<figcaption>{_inline(p.caption)}</figcaption></figure>")
        elif b.kind == "code":
            out.append(f'<pre><code class="language-{b.lang}">{_html.escape(b.text)}</code></pre>')
        elif b.kind == "details":
            out.append(f"<details><summary>{_inline(b.text)}</summary>")
            out.extend(_render(b.children))
            out.append("</details>")
    return out


def render_html(data: CardData, plots: Sequence[Plot]) -> str:
    items = blocks(data, plots)
    nav = " ".join(f'<a href="#{_anchor(b.text)}">{_inline(b.text)}</a>' for b in items if b.kind == "h2")
    body = "\n".join(_render(items))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_html.escape(data.title)} - telecom-etl report</title>\n<style>{CSS}</style>\n</head>\n"
            f"<body>\n<main>\n<h1>{_html.escape(data.title)}</h1>\n<nav>{nav}</nav>\n{body}\n</main>\n"
            "</body>\n</html>\n")
