"""Bounds on what a question may be: checked before any work, in the service and the UI alike."""

from __future__ import annotations


class QuestionTooLong(ValueError):
    """A question over settings.answer.max_question_chars: refused before any work, never echoed."""


def check_question_length(question: str, limit: int) -> None:
    n = len(question.strip())
    if n > limit:
        raise QuestionTooLong(
            f"the question is {n:,} characters long; questions are limited to {limit:,} "
            "(ask about one thing at a time, or paste the key sentence only)"
        )
