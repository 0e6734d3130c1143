"""Scale curves from the latest results: python -m bench.plot  ->  bench/figures/*.png (small, committed)."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.common import FIGURES, RESULTS  # noqa: E402


def scale_plot() -> None:
    result = json.loads((RESULTS / "query.json").read_text())
    sizes = sorted(int(n) for n in result["sizes"])
    lexical_only = {int(n): r for n, r in result.get("lexical_only", {}).items()}
    fig, (latency, disk) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=90)
    for mode, style in (("hybrid", "o-"), ("dense", "s--"), ("lexical", "^:")):
        for filt, alpha in (("none", 1.0), ("date+source", 0.5)):
            ys = [result["sizes"][str(n)]["query"][f"{mode}/{filt}"]["p95_ms"] for n in sizes]
            latency.plot(sizes, ys, style, alpha=alpha, label=f"{mode} ({'no filter' if filt == 'none' else filt})")
    if lexical_only:
        xs = sorted(lexical_only)
        latency.plot(xs, [lexical_only[n]["lexical/none"]["p95_ms"] for n in xs], "^", color="gray",
                     label="lexical index alone")
    latency.axhline(30, color="red", linewidth=0.8, label="target 30 ms")
    latency.set(xscale="log", xlabel="chunks", ylabel="p95 ms (question -> passages)", title="Query latency p95")
    latency.legend(fontsize=6)
    builds = [result["sizes"][str(n)]["build"] for n in sizes]
    disk.plot(sizes, [b["chroma_mb"] for b in builds], "o-", label="Chroma")
    disk.plot(sizes, [b["raw_vectors_mb"] for b in builds], "s--", label="raw vectors (fp32)")
    disk.plot(sizes, [b["lexical_mb"] for b in builds], "^:", label="lexical index")
    disk.set(xscale="log", yscale="log", xlabel="chunks", ylabel="MB on disk", title="Index size")
    disk.legend(fontsize=7)
    fig.tight_layout()
    FIGURES.mkdir(exist_ok=True)
    fig.savefig(FIGURES / "scale.png")
    print(FIGURES / "scale.png")


if __name__ == "__main__":
    scale_plot()
