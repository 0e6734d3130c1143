"""Keyword versions of suite questions, made mechanically: what a user types into a search box.

Analysts often type "Norland Ostravia consultations delegation head" rather than a question. Each
question loses its question words, auxiliaries, articles, pronouns and most prepositions; what is
left (names, content words, dates, numbers) keeps its order and case. Follow-ups (with history)
and false-premise questions are skipped: without its wording a premise is not asserted. Required
facts, support and filters stay as they were, so the answer owed is the same.

Because the rewriting is a rule, a test split's keyword version is made without anyone reading it:

    python eval/tools/keyword_suite.py eval/suites/demo-dev.jsonl   # -> demo-keywords-dev.jsonl

(a test split's keyword version ends in "-test" too, so the runner keeps it held out).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# Words a keyword query drops. Kept on purpose: negations, numbers, months, adjectives and verbs
# that carry the topic ("sanctioned", "proposed", "visit").
DROPPED = set(
    """
    what which who whom whose when where why how
    did does do done is are was were be been being has have had will would can could should may might
    shall must the a an of in on at to with for by about from into onto over after during before
    since until within as than that this these those it its it's they them their there he him his she her
    we our us you your i me my and or also any some each
    many much often long large according say said tell told
    """.split()
)

_TOKEN = re.compile(r"[\w'’.\-]+|[^\w\s]", re.UNICODE)


def keywords(question: str) -> str:
    """The question's content words in their order; punctuation other than inside names dropped."""
    words = []
    for token in _TOKEN.findall(question):
        if not re.search(r"\w", token):
            continue
        if token.endswith(".") and "." not in token[:-1]:
            token = token[:-1]  # a full stop, not an abbreviation like "U.S."
        if token == "May":
            pass  # the month, not the modal verb
        elif not token or token.lower().replace("’", "'") in DROPPED:
            continue
        words.append(token)
    return " ".join(words)


def keyword_records(lines: list[str]) -> list[dict]:
    out = []
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        record = json.loads(line)
        if record.get("history") or record["type"] == "false-premise":
            continue
        rewritten = keywords(record["question"])
        if not rewritten or rewritten == record["question"].rstrip("?"):
            continue  # already a keyword query
        out.append({**record, "id": record["id"] + "-kw", "question": rewritten})
    return out


def main(path: str) -> None:
    source = Path(path)
    records = keyword_records(source.read_text(encoding="utf-8").splitlines())
    base, split = re.fullmatch(r"(.*?)(-dev|-test)?", source.stem).groups()
    target = source.with_name(f"{base}-keywords{split or ''}{source.suffix}")
    target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    print(f"{len(records)} keyword questions -> {target}")


if __name__ == "__main__":
    main(sys.argv[1])
