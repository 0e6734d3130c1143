"""A small archive of an invented ministry (tests/fixtures/norland), for answer tests.

Its releases are fiction written for these tests, in the shape of real ones: consultations,
an aid announcement, a transcript with speaker labels, an old memorandum, a statement with an
injected instruction, each ending with the ministry's sign-off and a photo credit.
"""

import re
from dataclasses import replace
from pathlib import Path

from doubles import EmbeddingRetriever
from rag.boilerplate import Boilerplate
from rag.ingest.readers import read_file
from rag.types import Chunk

ARCHIVE = Path(__file__).parent / "fixtures" / "norland" / "releases.jsonl"


def documents():
    return read_file(ARCHIVE).documents


def chunks(paragraphs_per_chunk: int = 2) -> list[Chunk]:
    """Chunks of a few paragraphs each, with the boilerplate spans the store would mark."""
    docs = documents()
    model = Boilerplate.learn((d.source, d.doc_id, d.text) for d in docs)
    found = []
    for doc in docs:
        spans = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+(?:\n[^\n]+)*", doc.text)]
        for index, first in enumerate(range(0, len(spans), paragraphs_per_chunk)):
            group = spans[first : first + paragraphs_per_chunk]
            start, end = group[0][0], group[-1][1]
            chunk = Chunk(f"{doc.doc_id}#{index}", doc.doc_id, index, doc.text[start:end], start, end, title=doc.title,
                          published=doc.published, source=doc.source, url=doc.url, path=doc.path)
            found.append(replace(chunk, boilerplate=model.spans(chunk.source, chunk.text, chunk.title)))
    return found


_VECTORS: dict[int, object] = {}


def retriever(embedder, extra: list[Chunk] = ()) -> EmbeddingRetriever:
    """A fresh retriever over the archive (and `extra`); the archive is embedded once per embedder."""
    if extra:
        return EmbeddingRetriever(chunks() + list(extra), embedder)
    if id(embedder) not in _VECTORS:
        _VECTORS[id(embedder)] = EmbeddingRetriever(chunks(), embedder)._vectors
    return EmbeddingRetriever(chunks(), embedder, vectors=_VECTORS[id(embedder)])
