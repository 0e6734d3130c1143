"""The Gradio app: layout and event wiring only. Rendering is in render.py; uploads are staged by rag.ingest.staging.

`build_app(services)` returns the Blocks (tests mount it themselves); `launch(...)` is what `rag serve`
calls. Named API endpoints (for gradio_client): /ask (the chat turn, streamed), /answer (the Answer as
JSON), /ingest (upload files), /corpus_stats, /search_titles, /ingest_status (the background ingest
that `rag up` runs, if any).
"""

from __future__ import annotations

import atexit
import json
import logging
from pathlib import Path
from typing import Any

import rag  # noqa: F401  (environment defaults before gradio/numpy load)
import gradio as gr

from rag.settings import Settings
from rag.answer.limits import QuestionTooLong, check_question_length
from ui import chat, corpus, render
from ui.assets import CSS, HEAD
from rag.ingest.staging import UPLOAD_SUFFIXES, stage_uploads

log = logging.getLogger(__name__)

EXAMPLE_QUESTIONS = [
    "What did Albania propose?",
    "What did Kazakhstan and Albania agree on?",
    "What did the State Department say about Greenland?",
]
GENERATORS = ["extractive", "local", "openai"]
RESULT_HEADERS = ["file", "status", "documents", "passages", "problems"]
BANNER_REFRESH_S = 2.0  # how often the page polls a background ingest's progress


def generator_choices(services) -> list[tuple[str, str]]:
    """(label, backend) for the generator dropdown: what each one does and how fast it is here,
    and for the OpenAI-compatible backend whether its server answers (it is not offered as working
    when nothing listens there)."""
    try:
        from rag.answer.generators import BACKENDS

        names = list(BACKENDS)
    except ImportError:
        names = list(GENERATORS)
    default = services.settings.generator.backend
    names = names if default in names else [default, *names]
    return [(generator_label(name, services.settings), name) for name in names]


GENERATOR_LABELS = {
    "extractive": "extractive: quotes the releases, checked sentence by sentence (about a second)",
    "local": "local: the bundled SmolLM2-135M writes prose (35-60 s per answer on 2 cores; often unsupported)",
}


def generator_label(name: str, settings: Settings) -> str:
    if name != "openai":
        return GENERATOR_LABELS.get(name, name)
    where = settings.generator.openai_base_url
    if openai_server_answers(where):
        return f"openai: {settings.generator.openai_model} at {where} (speed: the server's)"
    return f"openai: NOT AVAILABLE, nothing answers at {where} (set generator.openai_base_url)"


def openai_server_answers(base_url: str, timeout_s: float = 0.5) -> bool:
    """Does an OpenAI-compatible server answer GET {base_url}/models? Asked once, when the UI is built."""
    import httpx

    try:
        response = httpx.get(base_url.rstrip("/") + "/models", timeout=timeout_s, trust_env=False)
    except (httpx.HTTPError, ValueError):
        return False
    return response.status_code < 500


def build_app(services) -> gr.Blocks:
    settings: Settings = services.settings
    max_mb = settings.ui.max_upload_mb
    catalogue = services.catalogue  # the corpus tab and the filters' choices, as `rag docs` sees them

    # -- handlers (closures over services) ---------------------------------------------------
    def ask(question, turns, date_from, date_to, sources, top_k, generator, languages=None):
        question = (question or "").strip()
        if not question:
            raise gr.Error("Type a question first")
        try:
            check_question_length(question, settings.answer.max_question_chars)
        except QuestionTooLong as error:
            raise gr.Error(str(error).capitalize())
        filters = chat.make_filters(date_from, date_to, sources, languages)
        k = int(top_k) if top_k else None
        for messages, panel, new_turns in chat.stream_turn(services, question, turns, filters, k, generator):
            yield messages, panel, new_turns, ""

    def check_question(question, turns, date_from, date_to, sources, top_k, generator, languages=None):
        """Runs before `ask`: a problem is shown next to the field it is about (not as an overlay
        over the chat), and the question is not asked until it is fixed."""
        question = (question or "").strip()
        asked = "" if question else "Type a question first"
        try:
            check_question_length(question, settings.answer.max_question_chars)
        except QuestionTooLong as error:
            asked = str(error).capitalize()
        from_problem, to_problem = chat.date_problems(date_from, date_to)
        fine = gr.validate(True, "")
        return [gr.validate(not asked, asked), fine, gr.validate(not from_problem, from_problem),
                gr.validate(not to_problem, to_problem), fine, fine, fine, fine]

    def answer_json(
        question: str, date_from: str = "", date_to: str = "", sources: list[str] | None = None,
        top_k: int = 0, generator: str = "", languages: list[str] | None = None,
    ) -> str:
        """Answer one question (no chat history); returns the checked Answer as a JSON string."""
        # A string, not a dict: gradio_client takes any dict with a "path" key (as citations have)
        # for a file to download.
        filters = chat.make_filters(date_from, date_to, sources or [], languages or [])
        with chat.answering(services):
            answer = services.answers.ask(question, filters=filters, top_k=top_k or None, generator=generator or None)
        return json.dumps(answer.to_dict(), ensure_ascii=False)

    def example(evt: gr.SelectData):
        value = evt.value
        return value.get("text", "") if isinstance(value, dict) else str(value)

    def ingest(files, progress=gr.Progress()):
        if not files:
            raise gr.Error("Choose one or more files (or a zip) to upload first")
        paths = [f if isinstance(f, str) else getattr(f, "path", None) or f.name for f in files]
        if len(paths) > settings.ui.max_upload_files:
            summary = (
                f"**Nothing ingested: {len(paths)} files chosen, at most {settings.ui.max_upload_files} per upload.** "
                "Upload them in parts, or as one zip, or run `rag ingest FOLDER`."
            )
            return ([["", "", 0, 0, ""]], summary, gr.skip(), *([gr.skip()] * 4))
        staged = stage_uploads(paths, Path(settings.data_dir) / "uploads", max_mb << 20)
        rows = [[r.path, r.status, 0, 0, "; ".join(r.errors)] for r in staged.rejected]
        written = 0
        if staged.files:
            progress(0, desc="reading files")

            def on_progress(done: int, total: int, message: str) -> None:
                progress(done / total if total else 0.0, desc=message)

            report = services.ingest.ingest(staged.files, progress=on_progress)
            written = report.chunks_written
            for result in report.files:
                shown = staged.label(result.path)  # the user's file name, not the staging path
                problems = "; ".join(e.replace(result.path, shown) for e in result.errors)
                rows.append([shown, result.status, result.documents, result.chunks, problems])
        counts: dict[str, int] = {}
        for row in rows:
            counts[row[1]] = counts.get(row[1], 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing uploaded"
        summary = f"**{summary}**; {written} passage(s) written."
        table = rows or [["", "", 0, 0, ""]]
        return (table, summary, gr.update(choices=catalogue.sources()), *corpus.corpus_view(catalogue))

    def refresh(query: str = ""):
        return (gr.update(choices=catalogue.sources()), *corpus.corpus_view(catalogue, query))

    def search_titles(query: str) -> str:
        return corpus.titles_html(catalogue, query)

    def corpus_stats() -> dict:
        """Counts of releases and passages, by source and by month."""
        return catalogue.stats()

    def clear():
        return [], render.sources_panel_html([]), [], ""

    def background_status():
        status_of = getattr(services, "ingest_status", None)  # stand-in services in tests may lack it
        return status_of() if callable(status_of) else None

    def ingest_status() -> dict:
        """The background ingest started by `rag up`: phase, done/total, eta_seconds, error, summary, text."""
        status = background_status()
        if status is None:
            return {"phase": "none", "running": False, "text": ""}
        return {**status.to_dict(), "text": render.ingest_banner_text(status)}

    def banner_now():
        status = background_status()
        return gr.update(value=render.ingest_banner_html(status), visible=status is not None)

    def following() -> bool:
        return bool(getattr(services, "follows_feeds", False))

    def poll_ingest(query: str, seen_finish: float):
        """Timer tick: the banner; when an ingest has ended, refresh the corpus views once, and stop
        ticking unless `rag up` follows feeds (each check is another background ingest)."""
        status = background_status()
        if status is None:
            return gr.update(visible=False), gr.Timer(active=following()), *([gr.skip()] * 6)
        banner = gr.update(value=render.ingest_banner_html(status), visible=True)
        if status.running or status.finished == seen_finish:
            return banner, gr.skip(), *([gr.skip()] * 6)
        return banner, gr.Timer(active=following()), status.finished, *refresh(query)

    # -- layout ------------------------------------------------------------------------------
    initial = background_status()
    with gr.Blocks(title="Press releases: cited answers", fill_width=True) as demo:
        turns = gr.State([])
        gr.Markdown(
            "## Diplomatic press releases: cited answers\n"
            "Every sentence cites the passage that supports it; what the releases don't support is marked."
        )
        # Only when this process runs a background ingest (`rag up`); plain `rag serve` has neither.
        ingest_banner = gr.HTML(
            render.ingest_banner_html(initial), visible=initial is not None, elem_id="ingest-banner"
        )
        ingest_timer = gr.Timer(BANNER_REFRESH_S, active=initial is not None or following())
        seen_finish = gr.State(0.0)  # when the ingest whose end this page has shown finished
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            elem_id="chat",
                            label="Chat",
                            height=560,
                            render_markdown=False,  # messages are HTML built (and escaped) by ui.render
                            sanitize_html=True,
                            examples=[{"text": q} for q in EXAMPLE_QUESTIONS],
                            placeholder="**Ask about the releases.** Answers cite their passages; "
                            "click a marker like [1] to see it highlighted.",
                            feedback_options=None,
                            buttons=["copy"],
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                elem_id="question", show_label=False, scale=6, lines=1, max_lines=4,
                                max_length=settings.answer.max_question_chars,
                                placeholder="Ask a question, e.g. What did Albania propose?",
                            )
                            ask_button = gr.Button("Ask", variant="primary", elem_id="ask-button", scale=1)
                            clear_button = gr.Button("New chat", elem_id="clear-button", scale=1)
                        with gr.Accordion("Filters and generator", open=True):
                            with gr.Row():
                                # Text, not gr.DateTime: that one silently sends the last valid
                                # date (or none) for what it cannot parse, so a mistyped filter
                                # answered unfiltered. Here the server reads every value, and what
                                # is not a date is said next to its field (check_question).
                                date_from = gr.Textbox(
                                    label="From", placeholder="YYYY-MM-DD", elem_id="date-from",
                                    max_lines=1, max_length=40,
                                )
                                date_to = gr.Textbox(
                                    label="To", placeholder="YYYY-MM-DD", elem_id="date-to",
                                    max_lines=1, max_length=40,
                                )
                                # Custom values allowed: sources added by an upload are valid before
                                # this session's choices are refreshed.
                                source_filter = gr.Dropdown(
                                    label="Source (ministry)", multiselect=True, choices=catalogue.sources(),
                                    allow_custom_value=True, elem_id="source-filter",
                                )
                                language_filter = gr.Dropdown(
                                    label="Language of the releases", multiselect=True,
                                    choices=catalogue.languages(), allow_custom_value=True,
                                    elem_id="language-filter",
                                )
                            with gr.Row():
                                top_k = gr.Slider(
                                    1, 20, step=1, value=settings.retrieval.top_k, label="Passages to retrieve",
                                    elem_id="top-k",
                                )
                                generator = gr.Dropdown(
                                    label="Generator (who writes the answer)", choices=generator_choices(services),
                                    value=settings.generator.backend, elem_id="generator",
                                )
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources_panel = gr.HTML(render.sources_panel_html([]), elem_id="sources-panel")
            with gr.Tab("Upload", id="upload"):
                gr.Markdown(
                    f"Upload releases ({', '.join(sorted(UPLOAD_SUFFIXES))}), up to {max_mb} MB each and "
                    f"{settings.ui.max_upload_files} files at a time; a zip is unpacked and its supported files "
                    "ingested. Unchanged files are skipped."
                )
                files = gr.File(
                    # ".gz" too: the browser and Gradio look at the last suffix of "archive.jsonl.gz"
                    label="Releases", file_count="multiple", file_types=sorted(UPLOAD_SUFFIXES | {".gz"}),
                    elem_id="upload-files",
                )
                ingest_button = gr.Button("Ingest", variant="primary", elem_id="ingest-button")
                ingest_summary = gr.Markdown(elem_id="ingest-summary")
                ingest_result = gr.Dataframe(
                    headers=RESULT_HEADERS, datatype=["str", "str", "number", "number", "str"],
                    interactive=False, wrap=True, elem_id="ingest-result", label="Per-file result",
                    column_widths=["30%", "10%", "10%", "10%", "40%"],
                )
            with gr.Tab("Corpus", id="corpus"):
                corpus_summary = gr.HTML(elem_id="corpus-summary")
                with gr.Row():
                    month_plot = gr.BarPlot(x="month", y="releases", title="Releases by month", x_label_angle=-45, y_lim=[0, None],
                                            elem_id="by-month")
                    source_plot = gr.BarPlot(x="source", y="releases", title="Releases by source", y_lim=[0, None],
                                              elem_id="by-source")
                title_search = gr.Textbox(label="Search titles", placeholder="words in the title", elem_id="title-search")
                documents_table = gr.HTML(elem_id="documents-table")

        # -- events --------------------------------------------------------------------------
        chat_inputs = [question, turns, date_from, date_to, source_filter, top_k, generator, language_filter]
        chat_outputs = [chatbot, sources_panel, turns, question]
        question.submit(ask, chat_inputs, chat_outputs, api_name="ask", validator=check_question)
        ask_button.click(ask, chat_inputs, chat_outputs, api_visibility="private", validator=check_question)
        chatbot.example_select(example, None, [question], api_visibility="private").then(
            ask, chat_inputs, chat_outputs, api_visibility="private", validator=check_question
        )
        clear_button.click(clear, None, chat_outputs, api_visibility="private")
        chatbot.clear(clear, None, chat_outputs, api_visibility="private")  # its own trash icon
        corpus_outputs = [corpus_summary, month_plot, source_plot, documents_table]
        ingest_button.click(
            ingest, [files], [ingest_result, ingest_summary, source_filter, *corpus_outputs],
            api_name="ingest", concurrency_limit=1,
        )
        title_search.submit(search_titles, [title_search], [documents_table], api_name="search_titles")
        title_search.change(search_titles, [title_search], [documents_table], api_visibility="private")
        demo.load(refresh, [title_search], [source_filter, *corpus_outputs], api_visibility="private")
        if initial is not None or following():
            demo.load(banner_now, None, [ingest_banner], api_visibility="private")
            ingest_timer.tick(
                poll_ingest, [title_search, seen_finish],
                [ingest_banner, ingest_timer, seen_finish, source_filter, *corpus_outputs],
                api_visibility="private",
            )
        gr.api(answer_json, api_name="answer")
        gr.api(corpus_stats, api_name="corpus_stats")
        gr.api(ingest_status, api_name="ingest_status")
    return demo


def launch_options(settings: Settings) -> dict[str, Any]:
    """What Blocks.launch needs besides host/port/auth (gradio 6 takes css and head at launch)."""
    return {"css": CSS, "head": HEAD, "max_file_size": f"{settings.ui.max_upload_mb}mb", "show_error": True}


def resolve_auth(settings: Settings, auth: tuple[str, str] | None) -> tuple[str, str] | None:
    if auth:
        return auth
    if settings.ui.auth_user:
        if not settings.ui.auth_password:
            raise ValueError("settings.ui.auth_user is set but ui.auth_password is empty; set both or neither")
        return (settings.ui.auth_user, settings.ui.auth_password)
    return None


def launch(
    services,
    host: str | None = None,
    port: int | None = None,
    auth: tuple[str, str] | None = None,
    block: bool = True,
):
    """Serve the app on host:port (default settings.ui: 127.0.0.1:7860). block=False returns at once."""
    settings: Settings = services.settings
    credentials = resolve_auth(settings, auth)
    # Load the model and open the store now, so the first question doesn't wait for them.
    services.store.count()
    services.embedder.embed_query("warm up")
    if getattr(services, "ingest_status", lambda: None)() is None:
        # spaCy (question analysis) too, or the first question waits ~5 s for it. Not while a
        # background ingest thread is importing and loading beside us (rag up): heavy imports in
        # two threads at once can trip over each other's module locks.
        from rag.nlp import parse_question

        parse_question("Who led the delegation?")
    warm_up = getattr(services.answers, "warm_up", None)  # loads a local generator model in the background
    if callable(warm_up):
        warm_up()
    demo = build_app(services)
    demo.queue(default_concurrency_limit=2)
    demo.launch(
        server_name=host or settings.ui.host,
        server_port=settings.ui.port if port is None else port,
        auth=credentials,
        prevent_thread_lock=True,
        **launch_options(settings),
    )
    # `rag ask` in a terminal finds this server here and asks it instead of loading the models.
    from rag.running_server import announce, withdraw

    listening = demo.server_name if demo.server_name not in ("0.0.0.0", "::", "") else "127.0.0.1"
    announce(settings.data_dir, f"http://{listening}:{demo.server_port}/", auth=credentials is not None)
    atexit.register(withdraw, settings.data_dir)
    if block:
        try:
            demo.block_thread()
        finally:
            withdraw(settings.data_dir)
    return demo
