"""Eval suites: loading, matching facts and quotes, and validating a suite against the corpus.

A suite is a JSONL file, one question a line::

    {"id": "kz-03", "type": "factoid", "question": "...", "reference_answer": "...",
     "required_facts": ["Intergovernmental Commission", "re:Business Counc?il"],
     "supporting": [{"release": "<url or file name>", "quotes": ["verbatim text"]}],
     "filters": {"date_from": "2022-03-01", "date_to": "2022-03-31", "sources": []},
     "history": [["user", "..."], ["assistant", "..."]]}

A required fact is a plain string (found case-insensitively after normalising quotes, dashes
and whitespace) or, with the prefix ``re:``, a regular expression searched the same way.
A release is identified by its URL (archive records) or its file name (single-file releases).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Iterable

from rag.types import Filters

QUESTION_TYPES = ("factoid", "multi-release", "date", "unanswerable", "false-premise")
REFUSAL_TYPES = frozenset({"unanswerable", "false-premise"})


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class SupportingRelease:
    release: str  # URL of an archive record, or file name of a single-file release
    quotes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuiteQuestion:
    id: str
    type: str
    question: str
    reference_answer: str
    required_facts: tuple[str, ...] = ()
    supporting: tuple[SupportingRelease, ...] = ()
    filters: Filters = field(default_factory=Filters)
    history: tuple[tuple[str, str], ...] = ()
    line: int = 0

    @property
    def expects_refusal(self) -> bool:
        """Unanswerable and false-premise questions should be refused or have their premise corrected."""
        return self.type in REFUSAL_TYPES

    @property
    def quotes(self) -> tuple[str, ...]:
        return tuple(q for s in self.supporting for q in s.quotes)


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    questions: tuple[SuiteQuestion, ...]
    fingerprint: str  # sha256 of the file, first 16 hex digits

    def __len__(self) -> int:
        return len(self.questions)


# ---------------------------------------------------------------------------------------------
# Text matching


_TRANSLATE = str.maketrans({"‘": "'", "’": "'", "‛": "'", "“": '"', "”": '"', "„": '"',
                            "–": "-", "—": "-", "‑": "-", "−": "-", "\u00a0": " "})


def normalize(text: str) -> str:
    """Case-folded text with typographic quotes/dashes made plain and whitespace collapsed.

    Readers may normalise whitespace or quotes differently from the raw archive, so every
    comparison between suite strings and corpus/answer text goes through this.
    """
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    return re.sub(r"\s+", " ", text).strip().casefold()


def fact_present(fact: str, text: str) -> bool:
    """Whether one required fact appears in ``text`` (plain substring, or ``re:`` regex)."""
    haystack = normalize(text)
    if fact.startswith("re:"):
        return re.search(fact[3:], haystack, flags=re.IGNORECASE) is not None
    return normalize(fact) in haystack


def quote_in(quote: str, text: str) -> bool:
    return normalize(quote) in normalize(text)


# ---------------------------------------------------------------------------------------------
# Loading


def load_suite(path: Path | str) -> Suite:
    """Read and structurally check a suite; raises SuiteError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"{path}: suite file not found")
    raw = path.read_bytes()
    questions: list[SuiteQuestion] = []
    seen: dict[str, int] = {}
    for line_no, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
        question = _parse_question(record, f"{path}:{line_no}", line_no)
        if question.id in seen:
            raise SuiteError(f"{path}:{line_no}: duplicate id {question.id!r} (first on line {seen[question.id]})")
        seen[question.id] = line_no
        questions.append(question)
    if not questions:
        raise SuiteError(f"{path}: the suite has no questions")
    return Suite(path.stem, path, tuple(questions), hashlib.sha256(raw).hexdigest()[:16])


def _parse_question(record: object, where: str, line_no: int) -> SuiteQuestion:
    if not isinstance(record, dict):
        raise SuiteError(f"{where}: expected a JSON object")
    for key in ("id", "type", "question"):
        if not isinstance(record.get(key), str) or not record[key].strip():
            raise SuiteError(f"{where}: field {key!r} must be a non-empty string")
    unknown = set(record) - {"id", "type", "question", "reference_answer", "required_facts", "supporting",
                             "filters", "history", "notes"}
    if unknown:
        raise SuiteError(f"{where}: unknown field(s) {sorted(unknown)}")
    if record["type"] not in QUESTION_TYPES:
        raise SuiteError(f"{where}: type {record['type']!r} is not one of {', '.join(QUESTION_TYPES)}")
    facts = record.get("required_facts", [])
    if not isinstance(facts, list) or not all(isinstance(f, str) and f.strip() for f in facts):
        raise SuiteError(f"{where}: required_facts must be a list of non-empty strings")
    for fact in facts:
        if fact.startswith("re:"):
            try:
                re.compile(fact[3:])
            except re.error as exc:
                raise SuiteError(f"{where}: required fact {fact!r} is not a valid regex ({exc})") from None
    supporting = []
    for item in record.get("supporting", []):
        if not isinstance(item, dict) or not isinstance(item.get("release"), str) or not item["release"]:
            raise SuiteError(f"{where}: each supporting entry needs a 'release' (URL or file name)")
        quotes = item.get("quotes", [])
        if not isinstance(quotes, list) or not all(isinstance(q, str) and q.strip() for q in quotes):
            raise SuiteError(f"{where}: quotes of {item['release']!r} must be a list of non-empty strings")
        supporting.append(SupportingRelease(item["release"], tuple(quotes)))
    history = []
    for turn in record.get("history", []):
        if not (isinstance(turn, list) and len(turn) == 2 and turn[0] in ("user", "assistant")
                and isinstance(turn[1], str)):
            raise SuiteError(f"{where}: history turns must be [\"user\"|\"assistant\", text]")
        history.append((turn[0], turn[1]))
    return SuiteQuestion(
        id=record["id"], type=record["type"], question=record["question"],
        reference_answer=str(record.get("reference_answer", "")), required_facts=tuple(facts),
        supporting=tuple(supporting), filters=_parse_filters(record.get("filters"), where),
        history=tuple(history), line=line_no,
    )


def _parse_filters(value: object, where: str) -> Filters:
    if value is None:
        return Filters()
    if not isinstance(value, dict) or set(value) - {"date_from", "date_to", "sources"}:
        raise SuiteError(f"{where}: filters may only have date_from, date_to, sources")
    dates = {}
    for key in ("date_from", "date_to"):
        if value.get(key):
            try:
                dates[key] = date.fromisoformat(value[key])
            except (TypeError, ValueError):
                raise SuiteError(f"{where}: filters.{key} {value[key]!r} is not a YYYY-MM-DD date") from None
    return Filters(dates.get("date_from"), dates.get("date_to"), tuple(value.get("sources") or ()))


# ---------------------------------------------------------------------------------------------
# Validation against the corpus


def load_release_texts(corpus_paths: Iterable[Path | str]) -> dict[str, list[str]]:
    """Release key (URL, or file name) -> texts (title + body) of the releases with that key.

    Read straight from the corpus files, independently of the product's readers, so a reader
    bug cannot make the suite agree with itself. A key can map to several texts: the archive
    repeats a few URLs for different releases.
    """
    texts: dict[str, list[str]] = {}
    for corpus_path in corpus_paths:
        corpus_path = Path(corpus_path)
        files = sorted(p for p in corpus_path.rglob("*") if p.is_file()) if corpus_path.is_dir() else [corpus_path]
        for file in files:
            if file.suffix == ".jsonl":
                for line in file.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        record = json.loads(line)
                        key = record.get("url") or record.get("id")
                        texts.setdefault(key, []).append(f"{record.get('title', '')}\n{record.get('text', '')}")
            elif file.suffix == ".txt":
                texts.setdefault(file.name, []).append(file.read_text(encoding="utf-8"))
    return texts


def validate_suite(suite: Suite, release_texts: dict[str, list[str]]) -> list[str]:
    """Every problem that makes a question unfair or unscorable, as 'file:line: id: problem'."""
    problems: list[str] = []
    for q in suite.questions:
        where = f"{suite.path}:{q.line}: {q.id}"
        if q.type == "unanswerable":
            if q.supporting or q.required_facts:
                problems.append(f"{where}: unanswerable questions carry no supporting releases or facts")
            continue
        if not q.supporting:
            problems.append(f"{where}: needs at least one supporting release")
        if q.type == "multi-release" and len({s.release for s in q.supporting}) < 2:
            problems.append(f"{where}: multi-release questions need 2+ supporting releases")
        if q.type == "date" and q.filters.empty and not re.search(r"\b(latest|most recent|last)\b", q.question, re.I):
            problems.append(f"{where}: date questions need a date filter or ask for the latest release")
        if q.type != "false-premise" and not q.required_facts:
            problems.append(f"{where}: needs at least one required fact")
        support_text = []
        for s in q.supporting:
            candidates = release_texts.get(s.release)
            if not candidates:
                problems.append(f"{where}: release {s.release!r} is not in the corpus")
                continue
            support_text.extend(candidates)
            for quote in s.quotes:
                if not any(quote_in(quote, text) for text in candidates):
                    problems.append(f"{where}: quote {quote[:60]!r} is not verbatim in {s.release}")
        for fact in q.required_facts:
            if support_text and not any(fact_present(fact, text) for text in support_text):
                problems.append(f"{where}: required fact {fact!r} is in none of its supporting releases")
    return problems
