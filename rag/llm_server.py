"""A small OpenAI-compatible chat server for the bundled SmolLM2-135M-Instruct.

    python -m rag.llm_server --port 8001          # binds 127.0.0.1
    RAG_GENERATOR__BACKEND=openai RAG_GENERATOR__OPENAI_BASE_URL=http://127.0.0.1:8001/v1 \
    RAG_GENERATOR__OPENAI_MODEL=SmolLM2-135M-Instruct rag ask "..."

One warm model shared by several UI workers or CLI runs, and the real server the `openai`
generator is tested against. Implements GET /v1/models, POST /v1/chat/completions (plain JSON,
or Server-Sent Events with "stream": true, ending with `data: [DONE]`), GET /health.
Requests are served one at a time: there is one model on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MAX_TOKENS = 256


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = ""

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return "".join(part.get("text", "") for part in self.content if isinstance(part, dict))
        return self.content or ""


class ChatRequest(BaseModel):
    # Clients send many optional fields (n, top_p, stream_options, tools...): accept and ignore them.
    model_config = ConfigDict(extra="allow")
    model: str = ""
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0)


def create_app(model=None):
    """The FastAPI app; `model` is anything with .name and .stream(messages, max_new_tokens, temperature)
    (default: the bundled model, loaded at startup so the first request isn't the slow one)."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI
    from fastapi.responses import StreamingResponse

    state: dict[str, Any] = {"model": model}

    @asynccontextmanager
    async def lifespan(_app):
        if state["model"] is None:
            from rag.local_llm import get_local_model

            state["model"] = get_local_model()
        yield

    app = FastAPI(title="rag local LLM server", lifespan=lifespan)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "model": state["model"].name}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list",
                "data": [{"id": state["model"].name, "object": "model", "created": 0, "owned_by": "local"}]}

    @app.post("/v1/chat/completions")
    def chat(request: ChatRequest):
        llm = state["model"]  # one model: any requested name gets it, as llama.cpp's server does
        messages = [{"role": m.role, "content": m.text()} for m in request.messages]
        max_tokens = request.max_completion_tokens or request.max_tokens or DEFAULT_MAX_TOKENS
        pieces = llm.stream(messages, max_new_tokens=max_tokens, temperature=request.temperature or 0.0)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if request.stream:
            return StreamingResponse(_sse(pieces, completion_id, llm.name), media_type="text/event-stream")
        text = "".join(pieces)
        return {
            "id": completion_id, "object": "chat.completion", "created": int(time.time()), "model": llm.name,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    return app


def _sse(pieces: Iterator[str], completion_id: str, model: str) -> Iterator[str]:
    """OpenAI streaming format: a role chunk, one chunk per piece, a finish chunk, then [DONE]."""
    created = int(time.time())

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        body = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        for piece in pieces:
            yield chunk({"content": piece})
    finally:
        close = getattr(pieces, "close", None)
        if close:  # client went away: stop generating
            close()
    yield chunk({}, "stop")
    yield "data: [DONE]\n\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="OpenAI-compatible server for the bundled SmolLM2 model")
    parser.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (local only)")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)
    import uvicorn

    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
