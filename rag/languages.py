"""The languages the app speaks to (English, Russian, Kazakh), told from a question's script."""

from __future__ import annotations

import re

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


def question_language(text: str) -> str:
    """en, ru or kk (a question is too short for langdetect; the script and Kazakh's own letters
    tell these three apart). Retrieval and the answer layer both go by it."""
    if not _CYRILLIC.search(text):
        return "en"
    return "kk" if any(ch in _KAZAKH_LETTERS for ch in text) else "ru"
