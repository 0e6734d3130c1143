"""Where the demo corpus is: a checkout's corpus/ folder, or the copy a normal install carries.

An editable install (scripts/install.sh) runs from the checkout, where corpus/ sits beside
rag/. A wheel installed with plain pip has no checkout; pyproject's data-files put the corpus
under <prefix>/share/rag-press/corpus instead.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

SHARED = Path("share") / "rag-press" / "corpus"


def demo_corpus_candidates() -> list[Path]:
    here = Path(__file__).resolve()
    # <prefix>/lib/pythonX.Y/site-packages/rag/demo.py: the prefix this copy was installed into
    # (a venv, --prefix or --user), then the interpreter's own prefixes.
    installed = here.parents[4] if len(here.parents) > 4 else None
    prefixes = dict.fromkeys(
        [str(installed or ""), sys.prefix, sysconfig.get_config_var("userbase") or "", sys.base_prefix]
    )
    return [here.parent.parent / "corpus"] + [Path(p) / SHARED for p in prefixes if p]


def demo_corpus() -> Path:
    """The first candidate that holds the corpus; the checkout's path when none does (so the
    error the caller reports names where it was looked for)."""
    candidates = demo_corpus_candidates()
    for folder in candidates:
        if (folder / "state_dept_press_releases_2021-2022.jsonl").is_file():
            return folder
    return candidates[0]
