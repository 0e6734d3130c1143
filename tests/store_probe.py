"""Open a data_dir's store in a fresh process and print its state as JSON (test_crash_safety.py):
chunk and document counts, documents not stored whole, whether the lexical index holds exactly
Chroma's ids, and whether a hybrid query answers. A separate process so that the test never holds
the embedded store open while the process it kills or restarts writes to it."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from rag.services import Services
from rag.settings import Settings
from rag.types import Filters

if __name__ == "__main__":
    services = Services(Settings(data_dir=Path(sys.argv[1])))
    store = services.store
    chroma_ids = sorted(i for page in store._scan([]) for i in page["ids"])
    states = store.doc_states()
    half_written = sorted(doc_id for doc_id, state in states.items() if not state.has_complete_version())
    lexical_ids = sorted(store.lexical_index().ids)
    hits = services.retriever.retrieve(sys.argv[2], Filters(), 5) if chroma_ids else []
    print(json.dumps({
        "chunks": len(chroma_ids),
        "ids_digest": hashlib.sha1("\n".join(chroma_ids).encode()).hexdigest(),
        "documents": len(states),
        "half_written": half_written,
        "lexical_matches_chroma": lexical_ids == chroma_ids,
        "lexical_chunks": len(lexical_ids),
        "hits": len(hits),
    }))
