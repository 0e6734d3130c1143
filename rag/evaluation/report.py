"""The eval report: Markdown and HTML with the same tables, PNG plots, and the raw records.

Layout of a report folder::

    report.md  report.html  results.jsonl  summary.json  by_type.png  latency.png
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers; set before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

SUMMARY_COLUMNS = [
    ("doc_hit@1", "hit@1"), ("doc_hit@5", "hit@5"), ("doc_recall@10", "recall@10"), ("doc_MRR", "MRR"),
    ("doc_nDCG@10", "nDCG@10"), ("passage_hit@5", "passage hit@5"), ("passage_nDCG@10", "passage nDCG@10"),
    ("fact_recall", "fact recall"), ("citation_precision", "citation precision"),
    ("citation_recall", "citation recall"), ("support", "support"), ("relevance", "relevance"),
    ("faithfulness", "faithfulness"),
    ("refusal_precision", "refusal precision"), ("refusal_recall", "refusal recall"),
]
TYPE_COLUMNS = [("n", "n"), ("doc_hit@5", "hit@5"), ("doc_nDCG@10", "nDCG@10"), ("fact_recall", "fact recall"),
                ("citation_precision", "citation precision"), ("relevance", "relevance"),
                ("faithfulness", "faithfulness"),
                ("refusal_rate", "refusal rate")]


def fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _tables(meta: dict, runs: dict[str, dict]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of every table; both renderers draw from this one list."""
    tables = []
    header = ["config"] + [label for _, label in SUMMARY_COLUMNS]
    rows = [[name] + [fmt(run["summary"]["overall"].get(key)) for key, _ in SUMMARY_COLUMNS] for name, run in runs.items()]
    tables.append(("Summary (retrieval: doc level unless marked passage)", header, rows))
    stages = sorted({s for run in runs.values() for s in run["summary"]["latency"]}, key=_stage_order)
    lat_rows = []
    for name, run in runs.items():
        lat = run["summary"]["latency"]
        lat_rows.append([name] + [f"{fmt(lat[s]['p50'])} / {fmt(lat[s]['p95'])}" if s in lat else "–" for s in stages])
    tables.append(("Latency, seconds (p50 / p95)", ["config"] + stages, lat_rows))
    for name, run in runs.items():
        by_type = run["summary"]["by_type"]
        rows = [[t] + [fmt(v.get(key)) for key, _ in TYPE_COLUMNS] for t, v in by_type.items()]
        tables.append((f"By question type: {name}", ["type"] + [label for _, label in TYPE_COLUMNS], rows))
    return tables


def _stage_order(stage: str) -> tuple[int, str]:
    order = {"rewrite": 0, "retrieve": 1, "generate": 2, "check": 3, "total": 9}
    return (order.get(stage, 5), stage)


def plot_by_type(runs: dict[str, dict], path: Path) -> None:
    metrics = [("doc_hit@5", "retrieval hit@5"), ("fact_recall", "fact recall"), ("refusal_rate", "refusal rate")]
    # union in first-seen order: a partial (checkpoint) run may not have reached every type yet
    types = list(dict.fromkeys(t for run in runs.values() for t in run["summary"]["by_type"]))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), sharey=True)
    width = 0.8 / max(len(runs), 1)
    for ax, (key, label) in zip(axes, metrics):
        for i, (name, run) in enumerate(runs.items()):
            values = [run["summary"]["by_type"].get(t, {}).get(key) for t in types]
            values = [0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values]
            ax.bar([x + i * width for x in range(len(types))], values, width, label=name)
        ax.set_xticks([x + width * (len(runs) - 1) / 2 for x in range(len(types))])
        ax.set_xticklabels(types, rotation=30, ha="right")
        ax.set_title(label)
        ax.set_ylim(0, 1.05)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(results: Sequence, path: Path) -> None:
    configs = list(dict.fromkeys(r.config for r in results))
    stages = sorted({s for r in results for s in r.timings}, key=_stage_order)
    fig, axes = plt.subplots(1, max(len(stages), 1), figsize=(4 * max(len(stages), 1), 3.6), squeeze=False)
    for ax, stage in zip(axes[0], stages):
        data = [[r.timings[stage] for r in results if r.config == c and stage in r.timings] for c in configs]
        ax.boxplot([d or [0.0] for d in data], tick_labels=configs, showfliers=True)
        ax.set_title(f"{stage} (s)")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(folder: Path, meta: dict, runs: dict[str, dict], results: Sequence) -> Path:
    from rag.evaluation.runner import nan_to_none

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "results.jsonl", "w") as handle:
        for r in results:
            handle.write(json.dumps(nan_to_none(asdict(r)), ensure_ascii=False) + "\n")
    (folder / "summary.json").write_text(json.dumps(nan_to_none({"meta": meta, "runs": runs}), indent=2, default=str))
    plot_by_type(runs, folder / "by_type.png")
    plot_latency(results, folder / "latency.png")
    tables = _tables(meta, runs)
    failures = [r for r in results if r.error]
    settings_json = json.dumps({name: run["settings"] for name, run in runs.items()}, indent=2, default=str)

    title = ", ".join(Path(part).name for part in meta["suite"].split(", "))
    md = [f"# Eval report: {title}", "", _meta_line(meta), ""]
    for title, header, rows in tables:
        md += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        md += ["| " + " | ".join(row) + " |" for row in rows] + [""]
    md += ["## Plots", "", "![per-type metrics](by_type.png)", "", "![latency](latency.png)", ""]
    md += ["## Worst questions (fact recall < 1 or wrong refusal; held-out suites are not listed)", ""]
    md += _worst(results) + [""]
    if failures:
        md += ["## Errors", ""] + [f"- `{r.config}` {r.id}: {r.error}" for r in failures] + [""]
    md += ["## Settings", "", "```json", settings_json, "```", ""]
    (folder / "report.md").write_text("\n".join(md))

    body = [f"<h1>Eval report: {html.escape(title)}</h1>", f"<p>{html.escape(_meta_line(meta))}</p>"]
    for title, header, rows in tables:
        body.append(f"<h2>{html.escape(title)}</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
        body += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows]
        body.append("</table>")
    body += ['<h2>Plots</h2><img src="by_type.png" alt="per-type metrics"><img src="latency.png" alt="latency">']
    body += ["<h2>Worst questions</h2><ul>"] + [f"<li>{html.escape(line[2:])}</li>" for line in _worst(results)] + ["</ul>"]
    body += [f"<h2>Settings</h2><pre>{html.escape(settings_json)}</pre>"]
    style = ("body{font-family:sans-serif;max-width:1200px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}"
             "img{max-width:100%}")
    (folder / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>Eval report</title><style>{style}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
    return folder / "report.md"


def _meta_line(meta: dict) -> str:
    corpus = meta.get("corpus") or {}
    return (f"{meta['questions']} questions; suite fingerprint {meta['suite_fingerprint']}; corpus fingerprint "
            f"{corpus.get('sha256', '?')} ({corpus.get('documents', '?')} documents, {corpus.get('chunks', '?')} chunks); "
            f"seed {meta['seed']}; {meta['date']}; commit {meta.get('commit') or '?'}; {meta['seconds']} s; "
            f"retrieval scored at k={meta.get('retrieve_k')}.")


def _worst(results: Sequence, limit: int = 25) -> list[str]:
    bad = [r for r in results if not r.held_out
           and ((r.fact_recall is not None and r.fact_recall < 1) or r.refused != r.expects_refusal)]
    lines = []
    for r in bad[:limit]:
        verdict = "refused" if r.refused else "answered"
        lines.append(f"- `{r.config}` {r.id} ({r.type}, {verdict}, fact recall {fmt(r.fact_recall)}): "
                     f"{r.question} → {r.answer[:160].replace(chr(10), ' ')}")
    if len(bad) > limit:
        lines.append(f"- … and {len(bad) - limit} more in results.jsonl")
    return lines or ["- none"]
