"""Papers from their LaTeX sources: a source tree (:mod:`.tree`), one flat text (:mod:`.source`),
markdown through pandoc's JSON AST (:mod:`.render`)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import List, Optional

from telecom_etl.extractors.latex.render import PANDOC_MISSING, Converted, convert  # noqa: F401
from telecom_etl.extractors.latex.source import find_main, flatten, prepare, tex_texts
from telecom_etl.extractors.latex.tree import SourceTree, TreeLimits, from_bytes, from_folder  # noqa: F401


@dataclass
class LatexPaper:
    markdown: str
    title: Optional[str]
    authors: List[str]
    abstract: str
    main: str
    origin: str
    missing_inputs: List[str]
    counts: Counter = field(default_factory=Counter)
    byline: str = ""  # names, memberships, affiliations as the paper prints them
    front_notes: List[str] = field(default_factory=list)  # \thanks of the title and authors


def latex_to_markdown(tree: SourceTree, drop_references: bool = True, drop_acknowledgements: bool = False,
                      timeout_s: float = 60.0) -> LatexPaper:
    """Markdown and metadata of the paper in ``tree`` (raises StageFailure for bad input)."""
    texts = tex_texts(tree.files)
    main = find_main(texts, tree.main)
    flat = flatten(texts, main)
    prepared = prepare(flat)
    converted = convert(prepared, drop_references, drop_acknowledgements, timeout_s)
    counts = Counter(tree.counts)
    counts.update(flat.counts)
    counts.update(converted.counts)
    return LatexPaper(converted.markdown, converted.title, converted.authors, converted.abstract, main,
                      tree.origin, flat.missing, counts, converted.byline, converted.front_notes)
