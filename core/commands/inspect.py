"""``telecom-etl inspect OUT``: what is in an output folder, from a terminal.

For every dataset of the folder (``pretrain/``, ``sft/``, ``preference/``, ``dropped/``,
``rejects/``, or one folder / one ``.parquet`` file given directly) it prints the rows
and shards, counts per source / kind / task / teacher / drop rule / ..., the estimated
tokens, optionally the schema, and a few records picked at random (seeded, so the same
command shows the same records), pretty-printed.

Filters narrow both the counts and the sample:

* ``--source NAME`` / ``--task NAME`` (repeatable; exact values, any of them);
* ``--where EXPR`` (repeatable, all must hold). ``EXPR`` is either the shortcut
  ``column=value`` / ``column!=value`` (value unquoted, compared as the column's type:
  ``--where spec_release=18``, ``--where drop_rule=length``), or a SQL boolean
  expression as polars understands it (``--where "n_tokens > 2000 AND kind = '3gpp'"``,
  ``--where "title LIKE '%MIMO%'"``). A score is reachable as ``scores.NAME``
  (``--where "scores.telecom_keywords < 0.02"``).

Works on local folders and on ``gs://`` (any Beam filesystem); only the columns the
counts and filters need are read, then only the row groups of the sampled records.
"""
from __future__ import annotations

import json
import random
import re
from typing import List, Optional, Sequence

import click

from telecom_etl.cli import UserError

#: Columns counted per value when present (top values shown).
FACETS = ("source", "kind", "lang", "task", "task_family", "teacher", "teacher_model", "model", "prompt_version",
          "drop_stage", "drop_rule", "stage", "reason", "rule", "split")
_SHORTCUT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(==|=|!=)\s*(.*?)\s*$")
_SCORE_REF = re.compile(r"\bscores\.([A-Za-z0-9_\-]+)")


def _fmt_bytes(n: int) -> str:
    for unit, div in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


# ---------------------------------------------------------------------------
# filters
# ---------------------------------------------------------------------------

def _literal(value: str, dtype):
    import polars as pl

    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    if value.lower() in ("null", "none"):
        return None
    try:
        if dtype.is_integer():
            return int(value)
        if dtype.is_float():
            return float(value)
        if dtype == pl.Boolean:
            return value.lower() in ("true", "1", "yes")
    except ValueError:
        raise UserError(f"--where: {value!r} is not a valid {dtype} value") from None
    return value


def where_expr(text: str, schema):
    """A polars expression for one ``--where`` (shortcut ``col=value`` or SQL)."""
    import polars as pl

    sql = _SCORE_REF.sub(lambda m: f'"scores.{m.group(1)}"', text)
    m = _SHORTCUT.match(text)
    if m and m.group(1) in schema and not re.search(r"\s(and|or)\s", m.group(3), re.I):
        col, op, value = m.groups()
        lit = _literal(value, schema[col])
        if lit is None:
            expr = pl.col(col).is_null()
            return expr.not_() if op == "!=" else expr
        expr = pl.col(col) == pl.lit(lit, dtype=schema[col]) if not isinstance(lit, str) else \
            pl.col(col).cast(pl.String) == lit
        return expr.not_() if op == "!=" else expr
    try:
        return pl.sql_expr(sql)
    except Exception as exc:  # polars raises several error types for bad SQL
        raise UserError(f"--where {text!r}: not a valid expression ({str(exc).splitlines()[0]})") from None


def _score_columns(frame, keys: Sequence[str]):
    """Add one ``scores.KEY`` column per score referenced in a --where."""
    import polars as pl

    if not keys or "scores" not in frame.columns:
        return frame
    entries = pl.col("scores").cast(pl.List(pl.Struct({"key": pl.String, "value": pl.Float64})))
    return frame.with_columns([
        entries.list.eval(pl.element().filter(pl.element().struct.field("key") == k)
                          .struct.field("value")).list.first().alias(f"scores.{k}")
        for k in keys])


# ---------------------------------------------------------------------------
# pretty printing
# ---------------------------------------------------------------------------

def _clip(text: str, width: Optional[int]) -> str:
    if width is None or len(text) <= width:
        return text
    return text[:width].rstrip() + click.style(f" … (+{len(text) - width:,} chars)", dim=True)


def _indent(text: str, pad: str = "    ") -> str:
    return "\n".join(pad + line for line in text.splitlines()) if text else pad


def format_record(row: dict, width: Optional[int]) -> List[str]:
    """One record as aligned ``key: value`` lines; long text is clipped to ``width``."""
    lines = []
    for key, value in row.items():
        if value is None or value == [] or value == {} or value == "" or key.startswith("__"):
            continue
        label = click.style(f"{key}:", bold=True)
        if isinstance(value, list) and value and isinstance(value[0], dict) and "content" in value[0]:
            lines.append(label)  # chat messages
            for msg in value:
                role = msg.get("role", "?")
                lines.append(f"  [{role}]")
                lines.append(_indent(_clip(str(msg.get("content") or ""), width)))
        elif isinstance(value, list) and value and isinstance(value[0], tuple) and len(value[0]) == 2:
            lines.append(f"{label} " + ", ".join(f"{k}={v}" for k, v in value))  # a map column
        elif isinstance(value, list) and value and isinstance(value[0], dict):  # a list of structs
            lines.append(f"{label} " + "; ".join(", ".join(f"{k}={v}" for k, v in item.items() if v is not None)
                                                 for item in value))
        elif isinstance(value, list):
            lines.append(f"{label} " + ", ".join(str(v) for v in value))
        elif isinstance(value, (bytes, bytearray)):  # e.g. a MinHash signature: never raw bytes on a terminal
            lines.append(f"{label} " + click.style(f"<{len(value):,} bytes of binary data>", dim=True))
        elif isinstance(value, str) and ("\n" in value or len(value) > 100):
            lines.append(label)
            lines.append(_indent(_clip(value, width)))
        else:
            lines.append(f"{label} {value}")
    return lines


def schema_lines(schema, one_per_line: bool = False, width: int = 100) -> List[str]:
    """A dataset's columns and types: wrapped under its summary, or one per line (``--schema``)."""
    entries = [f"{f.name}: {f.type}" for f in schema]
    if one_per_line:
        return [f"  schema ({len(entries)} columns):"] + [f"    {f.name:<22} {f.type}" for f in schema]
    lines, cur = [f"  schema ({len(entries)} columns):"], "   "
    for e in entries:
        if len(cur) + len(e) + 2 > width and cur.strip():
            lines.append(cur.rstrip(","))
            cur = "   "
        cur += f" {e},"
    if cur.strip():
        lines.append(cur.rstrip(","))
    return lines


def _jsonable(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if k.startswith("__"):
            continue
        if isinstance(v, list) and v and isinstance(v[0], tuple) and len(v[0]) == 2:
            v = {a: b for a, b in v}
        if isinstance(v, (bytes, bytearray)):
            v = f"<{len(v)} bytes of binary data>"
        out[k] = v
    return out


# ---------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------

@click.command("inspect", short_help="Counts, schema and sample records of an output folder (local or gs://).")
@click.argument("output", metavar="OUT")
@click.option("--dataset", "-d", "datasets", multiple=True, metavar="NAME",
              help="Only these datasets (pretrain, sft, preference, dropped, rejects, ...). Repeatable.")
@click.option("--source", "-s", "sources", multiple=True, metavar="NAME",
              help="Only records of this source. Repeatable.")
@click.option("--task", "-t", "tasks", multiple=True, metavar="NAME", help="Only records of this task. Repeatable.")
@click.option("--where", "-w", "wheres", multiple=True, metavar="EXPR",
              help="Only records where EXPR holds: col=value, col!=value, or SQL "
                   "(\"n_tokens > 500 AND kind = '3gpp'\", \"scores.telecom_keywords < 0.02\"). Repeatable (AND).")
@click.option("-n", "--samples", default=3, show_default=True, type=click.IntRange(min=0),
              help="Records to print per dataset.")
@click.option("--seed", default=0, show_default=True, help="Seed of the record sample.")
@click.option("--schema", "show_schema", is_flag=True,
              help="Print each dataset's columns one per line (they are always listed, wrapped, with its summary).")
@click.option("--width", default=600, show_default=True, type=click.IntRange(min=20),
              help="Clip long text fields to this many characters.")
@click.option("--full", is_flag=True, help="Do not clip long text fields.")
@click.option("--jsonl", is_flag=True, help="Print the sampled records as JSON lines only (for piping).")
@click.option("--write-card", is_flag=True,
              help="Also (re)write OUT/README.md, OUT/plots/ and OUT/report.html from what the folder holds.")
def inspect(output, datasets, sources, tasks, wheres, samples, seed, show_schema, width, full, jsonl, write_card):
    """Summarise an output folder: counts, schema and a few records.

    OUT is the folder a telecom-etl command wrote (local or gs://), one dataset folder
    in it, or a single .parquet file.

    \b
    Examples:
      telecom-etl inspect out
      telecom-etl inspect out -d pretrain --source 3gpp-specs -n 2 --schema
      telecom-etl inspect out -d dropped --where drop_rule=length
      telecom-etl inspect out --where "n_tokens > 2000 AND spec_release = 18"
      telecom-etl inspect gs://bucket/out -d sft --task abbreviation --jsonl -n 20
    """
    import polars as pl

    from telecom_etl import io
    from telecom_etl.card.outputs import discover, read_positions, read_rows
    from telecom_etl.card.stats import read_report, size_columns

    # no exists() check first: on object stores (gs://) a "folder" is only a key prefix
    found = discover(output)
    if not found:
        what = "no such file or folder" if not io.has_scheme(output) and not io.exists(output) else \
            "no Parquet datasets found (expected folders like pretrain/ or sft/)"
        raise UserError(f"{output}: {what}")
    if datasets:
        unknown = [d for d in datasets if d not in {ds.name for ds in found}]
        if unknown:
            raise UserError(f"--dataset {unknown[0]!r}: not in {output} (found: {', '.join(ds.name for ds in found)})")
        found = [ds for ds in found if ds.name in datasets]
    width = None if full else width
    if write_card:
        _write_card(output)
    echo = (lambda *a, **k: None) if jsonl else click.echo

    report = read_report(output) if not output.endswith(".parquet") else {}
    if report:
        bits = [f"telecom-etl {report.get('version', '?')}"]
        if report.get("manifest"):
            bits.append(f"manifest {report['manifest']} ({report.get('manifest_digest', '?')})")
        if "balanced" in report:
            bits.append("accounting OK" if report["balanced"] else click.style("accounting MISMATCH", fg="red"))
        echo(f"{output}: " + ", ".join(bits))
        if not datasets:  # a whole folder: do its files belong to one run?
            from telecom_etl.runfolder import folder_problems

            every = [f for ds in found for f in ds.files]
            problems = folder_problems(output, report, every)
            if problems:
                echo(click.style(f"NOT ONE RUN: {output} mixes files of different runs", fg="red", bold=True))
                for p in problems:
                    echo(f"  {p}")
            elif report.get("run_id"):
                echo(f"run {report['run_id']}: report, card and all {len(every)} shards belong to it")
            else:
                echo("run: report.json names no run id, so shards, report and card cannot be checked against it")
    else:
        echo(f"{output}")

    skipped_for_where, evaluated = [], 0
    for ds in found:
        splits = ", ".join(f"{s}: {ds.rows[s]:,}" for s in ds.splits)
        echo("")
        echo(click.style(f"{ds.name}", bold=True, fg="cyan")
             + f"  {ds.total_rows:,} rows in {len(ds.files)} shard(s), {_fmt_bytes(ds.total_bytes)}  [{splits}]")
        if ds.schema is not None:
            for line in schema_lines(ds.schema, one_per_line=show_schema):
                echo(line)
        missing = [(flag, col) for flag, col in (("--source", "source"), ("--task", "task"))
                   if (sources if col == "source" else tasks) and col not in ds.columns]
        if missing:
            echo(f"  (skipped: no {missing[0][1]!r} column for {missing[0][0]})")
            continue
        if not ds.total_rows:
            continue
        schema = dict(zip(ds.schema.names, [None] * len(ds.schema.names)))
        score_keys = sorted({m.group(1) for w in wheres for m in _SCORE_REF.finditer(w)})
        size_cols, size_exprs = size_columns(ds)
        need = [c for c in FACETS if c in ds.columns] + size_cols + (["scores"] if score_keys else [])
        exprs_src = list(wheres)
        frame = read_positions(ds, need + [c for c in _where_columns(exprs_src, ds.columns)])
        frame = _score_columns(frame, score_keys)
        schema = frame.schema
        cond = []
        if sources:
            cond.append(pl.col("source").is_in(list(sources)))
        if tasks:
            cond.append(pl.col("task").is_in(list(tasks)))
        unknown = []
        for w in wheres:
            expr = where_expr(w, schema)
            unknown += [(w, c) for c in expr.meta.root_names() if c not in schema]
            cond.append(expr)
        if unknown:
            # another dataset of the folder may have the column (drop_rule is only in dropped/)
            skipped_for_where.append((ds, unknown[0]))
            echo(f"  (skipped: no column {unknown[0][1]!r} for --where)")
            continue
        evaluated += 1
        try:
            matched = frame.filter(pl.all_horizontal(cond)) if cond else frame
        except Exception as exc:  # a type mismatch in a SQL expression surfaces here
            raise UserError(f"--where: cannot evaluate on {ds.name}: {str(exc).splitlines()[0]}") from None
        sized = matched.with_columns(size_exprs)
        if cond:
            echo(f"  matching: {matched.height:,} of {frame.height:,} rows")
        echo(f"  tokens (estimated): {int(sized['n_tokens'].sum() or 0):,}   characters: "
             f"{int(sized['n_chars'].sum() or 0):,}")
        for col in FACETS:
            if col not in matched.columns or matched.schema[col] != pl.String:
                continue
            value = pl.when(pl.col(col) == "").then(pl.lit("(empty)")).otherwise(pl.col(col).fill_null("(none)"))
            counts = (matched.group_by(value.alias(col)).len()
                      .sort(["len", col], descending=[True, False]))
            if counts.height == 0:
                continue
            top = ", ".join(f"{v}={n:,}" for v, n in counts.head(8).iter_rows())
            more = f", … ({counts.height - 8} more)" if counts.height > 8 else ""
            if counts.height == 1 and counts[0, 0] in ("(none)", "(empty)"):
                continue  # a column nobody filled (lang before language ID runs)
            echo(f"  by {col}: {top}{more}")
        if not samples or matched.height == 0:
            continue
        positions = list(zip(matched["__shard"].to_list(), matched["__row"].to_list()))
        picked = sorted(random.Random(seed).sample(range(len(positions)), min(samples, len(positions))))
        rows = read_rows(ds, [positions[i] for i in picked])
        if jsonl:
            for row in rows:
                click.echo(json.dumps({"dataset": ds.name, **_jsonable(row)}, ensure_ascii=False, default=str))
            continue
        echo(f"  {len(rows)} sampled record(s) (seed {seed}):")
        for i, row in enumerate(rows, 1):
            echo(click.style(f"  ── {ds.name} record {i} ──", fg="yellow"))
            for line in format_record(row, width):
                echo("  " + line.replace("\n", "\n  "))
    if skipped_for_where and not evaluated and any(ds.total_rows for ds, _ in skipped_for_where):
        (w, col), ds = skipped_for_where[0][1], skipped_for_where[0][0]
        raise UserError(f"--where {w!r}: no column {col!r} in any dataset here "
                        f"(columns of {ds.name}: {', '.join(ds.columns)})")


def _write_card(output: str) -> None:
    """The card of a folder, with the filter thresholds of the manifest named in its
    report.json when that manifest is still where the report says."""
    from telecom_etl import io
    from telecom_etl.card import write_card
    from telecom_etl.card.stats import read_report
    from telecom_etl.manifest import ManifestError, load_manifest

    manifest = None
    path = read_report(output).get("manifest")
    if path and io.exists(path):
        try:
            manifest = load_manifest(path)
        except ManifestError as exc:
            click.echo(f"note: card written without the manifest's thresholds ({exc})", err=True)
    files = write_card(output, manifest=manifest)
    click.echo(f"wrote {files.readme}, {files.html} and {len(files.plots)} plot(s)", err=True)


def _where_columns(wheres: Sequence[str], columns: Sequence[str]) -> List[str]:
    """Columns a --where mentions (read in addition to the counted ones)."""
    out = []
    for w in wheres:
        for c in columns:
            if re.search(rf"(?<![\w.]){re.escape(c)}(?![\w])", w) and c not in out:
                out.append(c)
    return out
