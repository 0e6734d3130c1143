"""Synthetic corpora for the scale benchmarks: texts drawn from the real corpus's word frequencies.

Words are sampled from the unigram distribution of the demo corpus, so BM25 posting lists have
the real Zipf shape; vectors are random unit vectors (dense search cost does not depend on what
the vectors mean). Dates span the demo corpus's range and sources are skewed like a real archive.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np

from bench.common import JSONL
from rag.types import Chunk

DIM = 384
WORDS_PER_CHUNK = (60, 170)  # the product's chunks hold up to 200 word pieces, ~150 words
CHUNKS_PER_DOC = 6
SOURCES = [
    "U.S. Department of State", "Kazakh MFA", "UK Foreign Office", "German Federal Foreign Office",
    "French MFA", "Japanese MOFA", "Indian MEA", "Canadian Global Affairs", "Australian DFAT", "Brazilian MRE",
]
SOURCE_WEIGHTS = np.array([40, 5, 12, 10, 9, 8, 6, 4, 3, 3], dtype=float) / 100
FIRST_DAY = date(2021, 5, 20)
DAYS = 800


def corpus_vocabulary(limit: int = 50_000) -> tuple[list[str], np.ndarray]:
    counts: Counter[str] = Counter()
    with JSONL.open(encoding="utf-8") as lines:
        for line in lines:
            counts.update(re.findall(r"[A-Za-z][A-Za-z'-]+|\d+", json.loads(line)["text"]))
    words, freq = zip(*counts.most_common(limit))
    p = np.asarray(freq, dtype=float)
    return list(words), p / p.sum()


def questions(n: int = 200, seed: int = 7) -> list[str]:
    """Real question strings: the demo corpus's titles asked as questions, plus hand-written ones."""
    titles = [json.loads(line)["title"] for line in JSONL.open(encoding="utf-8")]
    rng = np.random.default_rng(seed)
    picked = [titles[i] for i in rng.choice(len(titles), size=n, replace=False)]
    asked = [f"What was said in {t}?" if i % 2 else f"What did the statement on {t} announce?" for i, t in enumerate(picked)]
    asked[:6] = [
        "What did Albania propose?",
        "What did Kazakhstan and Albania discuss at the political consultations?",
        "What sanctions were announced against Russia in 2022?",
        "How much humanitarian assistance did the United States give to Afghanistan?",
        "Who met with the Foreign Minister of Ukraine?",
        "What was agreed on climate cooperation?",
    ]
    return asked


def synthetic_batches(n_chunks: int, batch: int = 5000, seed: int = 1) -> Iterator[tuple[list[Chunk], np.ndarray]]:
    """Yields (chunks, unit vectors) in batches; deterministic for a seed."""
    words, p = corpus_vocabulary()
    vocab = np.asarray(words, dtype=object)
    cdf = np.cumsum(p)
    source_cdf = np.cumsum(SOURCE_WEIGHTS)
    rng = np.random.default_rng(seed)
    doc_meta: dict[int, tuple[str, date, str]] = {}

    def metadata(doc: int) -> tuple[str, date, str]:
        # Every chunk of a document shares its title, date and source.
        if doc not in doc_meta:
            doc_meta.clear()  # documents arrive in order: keep memory flat
            doc_rng = np.random.default_rng(doc)
            title = " ".join(vocab[np.searchsorted(cdf, doc_rng.random(8) * cdf[-1])]).title()
            day = FIRST_DAY + timedelta(days=int(doc_rng.integers(DAYS)))
            source = SOURCES[int(np.searchsorted(source_cdf, doc_rng.random() * source_cdf[-1]))]
            doc_meta[doc] = (title, day, source)
        return doc_meta[doc]

    for lo in range(0, n_chunks, batch):
        size = min(batch, n_chunks - lo)
        lengths = rng.integers(*WORDS_PER_CHUNK, size=size)
        drawn = vocab[rng.choice(len(words), size=int(lengths.sum()), p=p)]
        cuts = np.cumsum(lengths)[:-1]
        chunks = []
        for offset, piece in enumerate(np.split(drawn, cuts)):
            i = lo + offset
            doc = i // CHUNKS_PER_DOC
            title, day, source = metadata(doc)
            text = " ".join(piece)
            chunks.append(
                Chunk(
                    chunk_id=f"syn{doc}:0:{i % CHUNKS_PER_DOC}",
                    doc_id=f"syn{doc}",
                    index=i % CHUNKS_PER_DOC,
                    text=text,
                    start=0,
                    end=len(text),
                    title=title,
                    published=day,
                    source=source,
                    path="synthetic.jsonl",
                )
            )
        vectors = rng.standard_normal((size, DIM), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        yield chunks, vectors
