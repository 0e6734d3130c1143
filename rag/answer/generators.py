"""Draft writers, one class per backend, behind one interface.

A generator turns (question, keyed passages) into a draft: plain text whose sentences end
with [key] markers. It never has the last word: every draft goes through the citation
checker (rag.answer.citations), whatever wrote it.

- extractive: no model; quotes the most relevant source sentences. Deterministic.
- local: the bundled SmolLM2-135M-Instruct (rag.local_llm).
- openai: any OpenAI-compatible server through LangChain's ChatOpenAI.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from rag.answer import prompts
from rag.answer.evidence import EvidenceIndex, SourceSentence
from rag.answer.premise import PremiseFinding
from rag.answer.question import Question
from rag.settings import GeneratorSettings

BACKENDS = ("extractive", "local", "openai")
# Characters of passage text shown to a model per passage; chunks are ~200 word pieces already,
# this only guards against a store holding oversized chunks.
MAX_PASSAGE_CHARS = 2000


@dataclass(frozen=True)
class GenerationRequest:
    question: Question
    evidence: EvidenceIndex
    # What the answer selection chose (rag.answer.selection): the extractive writer quotes it,
    # a model's extractive fallback too; models see all passages and write their own draft.
    chosen: tuple[SourceSentence, ...] = ()
    premise: PremiseFinding | None = None


class Generator(Protocol):
    name: str

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Yield the draft in pieces (tokens where the backend streams)."""
        ...


class ExtractiveGenerator:
    """Quotes the chosen source sentences verbatim, each with its key; decides nothing itself."""

    name = "extractive"

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        for sentence in request.chosen:
            yield f"{_as_sentence(sentence.text)} [{sentence.key}]\n"


def _as_sentence(text: str) -> str:
    """One line, so the checker splits the draft where the source sentence ended."""
    return " ".join(text.split())


def build_messages(request: GenerationRequest) -> list[dict[str, str]]:
    """System + user messages with the passages in a delimited data block under stable keys."""
    blocks = []
    for key, passage in request.evidence.keyed.items():
        chunk = passage.chunk
        date = f" ({chunk.published.isoformat()})" if chunk.published else ""
        text = _neutralise(chunk.text[:MAX_PASSAGE_CHARS])
        blocks.append(prompts.PASSAGE_TEMPLATE.format(key=key, title=_neutralise(chunk.title), date=date, text=text))
    notes = []
    if request.premise is not None:
        template = prompts.PREMISE_NOTE if request.premise.others else prompts.UNREPORTED_PREMISE_NOTE
        notes.append(template.format(agent=request.premise.claim.agent))
    if request.question.dates.prefer_recent:
        notes.append(prompts.RECENT_NOTE)
    user = prompts.ANSWER_USER_PROMPT.format(
        sources="\n".join(blocks),
        notes=prompts.NOTES_TEMPLATE.format(notes=" ".join(notes)) if notes else "",
        question=request.question.standalone,
    )
    return [{"role": "system", "content": prompts.ANSWER_SYSTEM_PROMPT}, {"role": "user", "content": user}]


def _neutralise(text: str) -> str:
    """A document can't close the data block early or forge a source key line."""
    return text.replace("<sources>", "(sources)").replace("</sources>", "(/sources)")


class LocalGenerator:
    name = "local"

    def __init__(self, settings: GeneratorSettings) -> None:
        self.settings = settings

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        from rag.local_llm import get_local_model

        yield from get_local_model().stream(
            build_messages(request), max_new_tokens=self.settings.max_new_tokens, temperature=self.settings.temperature
        )


class OpenAIGenerator:
    """Any OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp, LM Studio, OpenAI, rag.llm_server)."""

    name = "openai"

    def __init__(self, settings: GeneratorSettings) -> None:
        from langchain_openai import ChatOpenAI

        self.settings = settings
        self.chat = ChatOpenAI(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=settings.openai_api_key or "not-needed",
            temperature=settings.temperature,
            max_tokens=settings.max_new_tokens,
            timeout=settings.timeout_s,
            max_retries=1,
            streaming=True,
        )

    def complete(self, messages: list[dict[str, str]]) -> str:
        """One non-streamed reply (used for follow-up rewriting)."""
        from langchain_core.messages import HumanMessage, SystemMessage

        converted = [SystemMessage(m["content"]) if m["role"] == "system" else HumanMessage(m["content"])
                     for m in messages]
        reply = self.chat.invoke(converted)
        return reply.content if isinstance(reply.content, str) else ""

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        from langchain_core.messages import HumanMessage, SystemMessage

        system, user = build_messages(request)
        try:
            for chunk in self.chat.stream([SystemMessage(system["content"]), HumanMessage(user["content"])]):
                if isinstance(chunk.content, str) and chunk.content:
                    yield chunk.content
        except Exception as exc:  # connection refused, 404 model, auth: say which server failed
            raise GeneratorError(
                f"OpenAI-compatible server at {self.settings.openai_base_url} (model {self.settings.openai_model!r}) "
                f"failed: {exc}"
            ) from exc


class GeneratorError(RuntimeError):
    """A generator backend could not produce a draft."""


def make_generator(name: str, settings: GeneratorSettings) -> Generator:
    if name == "extractive":
        return ExtractiveGenerator()
    if name == "local":
        return LocalGenerator(settings)
    if name == "openai":
        return OpenAIGenerator(settings)
    raise ValueError(f"unknown generator {name!r}: choose one of {', '.join(BACKENDS)}")
