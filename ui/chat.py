"""The chat turn: filters from the form, the streamed answer, the sources panel that goes with it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import date

import gradio as gr

from rag.date_bounds import NotADate, parse_bound, parse_range
from rag.types import Answer, Filters
from ui import render

log = logging.getLogger(__name__)

# One entry per answered question: what the service needs as history and what the panel shows.
Turn = dict  # {"question": str, "answer": str (plain, with [n]), "html": str (bubble), "sources": str (panel group)}


def date_problems(date_from: object, date_to: object) -> tuple[str, str]:
    """What is wrong with the From and the To field ("" for a good one), shown next to each."""
    problems = ["", ""]
    bounds: list[date | None] = [None, None]
    for i, (value, label) in enumerate([(date_from, "From"), (date_to, "To")]):
        try:
            bounds[i] = parse_bound(value, end=i == 1, label=label)
        except NotADate as error:
            problems[i] = str(error)
    if not any(problems):
        try:
            parse_range(date_from, date_to)
        except NotADate as error:
            problems[1] = str(error)
    return problems[0], problems[1]


def make_filters(date_from: object, date_to: object, sources: list[str] | str | None,
                 languages: list[str] | str | None = None) -> Filters:
    """Filters from the form or the API; a date that is not one is a gr.Error naming the field
    (the chat's validator has shown it next to the field before this runs)."""
    try:
        start, end = parse_range(date_from, date_to)
    except NotADate as error:
        raise gr.Error(str(error)) from None
    if isinstance(sources, str):
        sources = [sources] if sources else []
    if isinstance(languages, str):
        languages = [languages] if languages else []
    return Filters(date_from=start, date_to=end, sources=tuple(s for s in (sources or []) if s),
                   languages=tuple(x.strip().lower() for x in (languages or []) if x and x.strip()))


def service_history(turns: list[Turn]) -> list[tuple[str, str]]:
    history: list[tuple[str, str]] = []
    for turn in turns:
        history += [("user", turn["question"]), ("assistant", turn["answer"])]
    return history


def chat_messages(turns: list[Turn], pending: tuple[str, str] | None = None) -> list[dict]:
    """The Chatbot's value: every finished turn, then the one streaming now (question, bubble HTML)."""
    messages: list[dict] = []
    for turn in turns:
        messages.append({"role": "user", "content": render.user_message_html(turn["question"])})
        messages.append({"role": "assistant", "content": turn["html"]})
    if pending:
        messages.append({"role": "user", "content": render.user_message_html(pending[0])})
        messages.append({"role": "assistant", "content": pending[1]})
    return messages


def answering(services):
    """The services' question context (a background ingest yields to questions); none on stand-ins."""
    enter = getattr(services, "answering", None)
    return enter() if callable(enter) else nullcontext()


def stream_turn(
    services,
    question: str,
    turns: list[Turn],
    filters: Filters,
    top_k: int | None,
    generator: str | None,
) -> Iterator[tuple[list[dict], str, list[Turn]]]:
    """Yields (chat messages, sources panel HTML, turns) as the answer streams; the last has the checked answer."""
    turns = list(turns or [])
    groups = [t["sources"] for t in turns]
    panel = render.sources_panel_html(groups)
    turn_no = len(turns) + 1
    draft, status = "", "Searching the releases…"
    yield chat_messages(turns, (question, render.status_html(status))), panel, turns
    answer: Answer | None = None
    try:
        with answering(services):
            for event in services.answers.stream(
                question, history=service_history(turns), filters=filters, top_k=top_k, generator=generator or None
            ):
                if event.kind == "status":
                    status = event.text
                elif event.kind == "token":
                    draft += event.text
                    status = ""
                elif event.kind == "answer":
                    answer = event.answer
                    continue
                yield chat_messages(turns, (question, render.status_html(status, draft))), panel, turns
    except Exception as error:  # a generator backend that is down must not kill the chat
        log.exception("answering %r failed", question)
        bubble = render.error_html(f"{type(error).__name__}: {error}")
        turns.append({"question": question, "answer": "", "html": bubble, "sources": ""})
        yield chat_messages(turns), render.sources_panel_html([t["sources"] for t in turns if t["sources"]]), turns
        return
    if answer is None:
        bubble = render.error_html("the answer service ended without an answer")
        turns.append({"question": question, "answer": "", "html": bubble, "sources": ""})
    else:
        turns.append(
            {
                "question": question,
                "answer": answer.text,
                "html": render.answer_html(answer, turn_no),
                "sources": render.sources_group_html(answer, turn_no),
            }
        )
    yield chat_messages(turns), render.sources_panel_html([t["sources"] for t in turns if t["sources"]]), turns
