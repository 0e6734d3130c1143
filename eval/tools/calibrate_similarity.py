"""Map multilingual-e5's cosine similarities onto MiniLM's scale, for the answer-selection model.

    python eval/tools/calibrate_similarity.py --data-dir /tmp/eval-data eval/suites/demo-dev.jsonl eval/suites/heldout-dev.jsonl

The selection model (rag/answer/weights.py) was fitted on MiniLM's cosines, which spread from
about 0 to 0.8; e5's crowd into 0.7-0.95, so a question compared with e5 (a Russian or Kazakh
question over English releases, or any question over an e5 store) found every sentence
"relevant" and refused nothing. This fits e5 -> MiniLM as a straight line by least squares over
the (question, sentence) pairs of the dev suites' English questions, each sentence of what the
answer service retrieves for them, both encoders comparing exactly as the answer layer does
(encode_queries on both sides). With --translations (Russian and Kazakh translations of dev questions), a second line is fitted
for a question in one language and sentences in another: e5's cosine of the translation to each
sentence retrieved for it, against MiniLM's cosine of the English original to the same sentence.
It writes nothing: put the printed lines in rag/embeddings.py.
Suites named *-test are refused.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rag.evaluation.suite import load_suite  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="+", type=Path)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--translations", nargs="*", type=Path, default=[],
                        help="suites of questions translated from the suites above (notes: 'translation of <suite> <id>')")
    args = parser.parse_args()
    if any(p.stem.endswith("-test") for p in [*args.suites, *args.translations]):
        sys.exit("refusing to calibrate on a test split")

    from rag.services import Services
    from rag.settings import Settings

    services = Services(Settings(data_dir=args.data_dir))
    answers, e5 = services.answers, services.cross_lingual_embedder()
    minilm_sims, e5_sims = [], []
    for path in args.suites:
        for item in load_suite(path).questions:
            q = answers.analyse(item.question, item.history)
            found = answers.gather(q)
            if found.evidence is None or not found.evidence.sentences:
                continue
            texts = [q.standalone] + [s.text for s in found.evidence.sentences]
            for encoder, out in ((services.embedder, minilm_sims), (e5, e5_sims)):
                vectors = np.asarray(encoder.encode_queries(texts), dtype=np.float32)
                out.extend((vectors[1:] @ vectors[0]).tolist())
    report("same language", "similarity_map", e5_sims, minilm_sims)
    if not args.translations:
        return
    # Across languages: a translated question's e5 cosine to each sentence retrieved for it,
    # against MiniLM's cosine of the English original to the same sentence.
    originals = {item.id: item for path in args.suites for item in load_suite(path).questions}
    minilm_sims, e5_sims = [], []
    for path in args.translations:
        notes = {r["id"]: r.get("notes", "") for r in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if r}
        for item in load_suite(path).questions:
            match = re.search(r"translation of \S+ (\S+)", notes.get(item.id, ""))
            original = originals.get(match.group(1)) if match else None
            if original is None:
                continue
            q = answers.analyse(item.question, item.history)
            found = answers.gather(q)
            if found.evidence is None or not found.evidence.sentences:
                continue
            texts = [s.text for s in found.evidence.sentences]
            ours = np.asarray(e5.encode_queries([q.standalone] + texts), dtype=np.float32)
            theirs = np.asarray(services.embedder.encode_queries([original.question] + texts), dtype=np.float32)
            e5_sims.extend((ours[1:] @ ours[0]).tolist())
            minilm_sims.extend((theirs[1:] @ theirs[0]).tolist())
    report("across languages", "cross_similarity_map", e5_sims, minilm_sims)


def report(what: str, name: str, e5_sims: list[float], minilm_sims: list[float]) -> None:
    x, y = np.asarray(e5_sims), np.asarray(minilm_sims)
    slope, intercept = np.polyfit(x, y, 1)
    mapped = slope * x + intercept
    print(f"{what}: {len(x)} pairs; e5 cosine mean {x.mean():.3f} sd {x.std():.3f}; "
          f"MiniLM mean {y.mean():.3f} sd {y.std():.3f}")
    print(f"  Pearson r {np.corrcoef(x, y)[0, 1]:.3f}; residual sd {np.std(y - mapped):.3f}")
    print(f"  {name} = ({slope:.4f}, {intercept:.4f})")


if __name__ == "__main__":
    main()
