"""The `rag` command: parses arguments, calls services, prints. No logic lives here."""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

import rag  # noqa: F401  (sets thread and offline environment defaults before numpy/torch load)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Cited answers from diplomatic press releases.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks against published numbers.")
app.add_typer(bench_app, name="bench")

STOP_TIMEOUT_S = 60  # Ctrl-C during `rag up`: wait this long for the ingest to stop between batches


def _settings(data_dir: Optional[Path] = None):
    from rag.settings import load_settings

    try:
        return load_settings(**({"data_dir": data_dir} if data_dir else {}))
    except Exception as error:  # a bad config file or env var: say which, don't dump a traceback
        typer.secho(f"error: invalid settings: {error}", fg="red", err=True)
        raise typer.Exit(2)


def _services(data_dir: Optional[Path] = None):
    from rag.services import get_services

    return get_services(_settings(data_dir))


@app.callback()
def main(
    config: Annotated[Optional[Path], typer.Option("--config", help="config file (TOML); default ./rag.toml")] = None,
):
    if config is not None:
        os.environ["RAG_CONFIG"] = str(config)


DataDir = Annotated[Optional[Path], typer.Option("--data-dir", help="overrides settings.data_dir")]


@app.command("config")
def config_cmd(as_json: Annotated[bool, typer.Option("--json")] = False):
    """Print the effective settings (defaults < config file < environment)."""
    from rag.settings import config_file_path

    settings = _settings()
    data = json.loads(settings.model_dump_json())
    if as_json:
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"# config file: {config_file_path() or '(none)'}")
    for key, value in data.items():
        if isinstance(value, dict):
            typer.echo(f"\n[{key}]")
            for sub, subvalue in value.items():
                typer.echo(f"{sub} = {json.dumps(subvalue)}")
        else:
            typer.echo(f"{key} = {json.dumps(value)}")


@app.command()
def ingest(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="files, folders or zips (txt, md, html, pdf, docx, odt, eml; archives: json, jsonl, ndjson, csv, tsv, "
            "xml, rss, atom, mbox, also gzipped), or URLs: an RSS/Atom feed, a sitemap, a page"
        ),
    ],
    sync: Annotated[
        bool, typer.Option("--sync", help="remove stored documents whose files are gone, or that a feed no longer lists")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    data_dir: DataDir = None,
):
    """Read, chunk, embed and store releases. Exit code 1 when some files or pages failed."""
    report = _run_ingest(_services(data_dir), paths, sync=sync, quiet=quiet)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def follow(
    urls: Annotated[Optional[list[str]], typer.Argument(help="feeds, sitemaps or pages; default: the feeds tables of the config file")] = None,
    every: Annotated[str, typer.Option("--every", help="how often to check: 30m, 1h, 1d, ...")] = "1h",
    sync: Annotated[bool, typer.Option("--sync", help="also remove releases a feed no longer lists")] = False,
    times: Annotated[Optional[int], typer.Option("--times", help="stop after this many checks of each feed")] = None,
    data_dir: DataDir = None,
):
    """Keep a corpus current: check feeds at an interval and ingest what is new or changed (Ctrl-C stops)."""
    from rag.settings import FeedSettings

    services = _services(data_dir)
    try:
        feeds = [FeedSettings(url=url, every=every, sync=sync) for url in urls] if urls else list(services.settings.feeds)
    except ValueError as error:  # pydantic's ValidationError: say the reason, not the model's name
        reason = error.errors()[0]["msg"] if hasattr(error, "errors") else str(error)
        typer.secho(f"error: --every: {reason}", fg="red", err=True)
        raise typer.Exit(2)
    if not feeds:
        typer.secho("error: no URL given and no feeds in the config file ([[feeds]] tables)", fg="red", err=True)
        raise typer.Exit(2)
    from datetime import datetime

    from rag.web.follow import FeedFollower

    def check(feed):
        return services.ingest.ingest([feed.url], sync=feed.sync)

    def report(done) -> None:
        stamp = datetime.fromtimestamp(done.started).strftime("%Y-%m-%d %H:%M:%S")
        if done.error:
            typer.secho(f"{stamp} {done.feed.url}: failed: {done.error}", fg="red", err=True)
        else:
            _print_report(done.report, prefix=f"{stamp} {done.feed.url}: ")

    for feed in feeds:
        typer.echo(f"following {feed.url} every {feed.every}" + (" (--sync)" if feed.sync else ""))
    follower = FeedFollower(feeds, check, report, max_checks=times)
    try:
        follower.run()
    except KeyboardInterrupt:
        typer.echo("stopped: what was stored so far is kept", err=True)
        raise typer.Exit(130)


class _ProgressBars:
    """A tqdm bar per ingest phase (reading files, embedding chunks): a pipeline ProgressFn."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.bar = None

    def __call__(self, done: int, total: int, message: str) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        phase = message.split(" ")[0]
        if self.bar is None or self.bar.desc != phase:
            if self.bar is not None:
                self.bar.close()
            self.bar = tqdm(total=total, desc=phase, unit="chunk" if "embedding" in message else "file")
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _print_report(report, prefix: str = "") -> None:
    for result in report.failed:
        for error in result.errors:
            typer.secho(f"{prefix}{result.status}: {error}", fg="red", err=True)
    typer.echo(prefix + report.summary())


def _model_mismatch(error) -> typer.Exit:
    typer.secho(f"error: {error}", fg="red", err=True)
    return typer.Exit(2)


def _run_ingest(services, paths: list[Path], sync: bool = False, quiet: bool = False):
    """Ingest with a progress bar per phase (reading files, embedding chunks); print failures and the summary."""
    from rag.store import EmbeddingModelMismatch

    bars = _ProgressBars(quiet)
    try:
        report = services.ingest.ingest(paths, sync=sync, progress=bars)
    except EmbeddingModelMismatch as error:
        raise _model_mismatch(error)
    except KeyboardInterrupt:
        typer.secho("\ninterrupted: what was stored so far is kept; run the same command to finish", err=True)
        raise typer.Exit(130)
    finally:
        bars.close()
    _print_report(report)
    return report


@app.command()
def reembed(
    model: Annotated[Optional[str], typer.Option("--model", help="default: embedding.model (unless auto)")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    data_dir: DataDir = None,
):
    """Re-embed every stored chunk with another embedding model (e.g. bundled:multilingual-e5-small).
    Queries keep working on the old vectors until the new ones are all stored."""
    from rag.embeddings import AUTO, BUNDLED

    services = _services(data_dir)
    model = model or services.settings.embedding.model
    if model == AUTO:
        typer.secho(f"error: say which model: --model {' or --model '.join(BUNDLED)}", fg="red", err=True)
        raise typer.Exit(2)
    bars = _ProgressBars(quiet)
    try:
        n = services.reembed(model, progress=bars)
    finally:
        bars.close()
    typer.echo(f"{n} chunks re-embedded with {model}; set embedding.model = \"{model}\" or \"auto\"")


@app.command()
def docs(
    words: Annotated[Optional[list[str]], typer.Argument(help="words the title or source must hold (any case)")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="releases to list (0: all)")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="the counts and the releases as one JSON object")] = False,
    data_dir: DataDir = None,
):
    """What the store holds: counts by source and language, then the releases (newest first), or
    only those whose title or source holds every word given. Loads no model."""
    catalogue = _services(data_dir).catalogue
    stats = catalogue.stats()
    found = catalogue.search_titles(" ".join(words or []), limit=limit or None)
    if as_json:
        releases = [
            {**vars(d), "published": d.published.isoformat() if d.published else None} for d in found.documents
        ]
        typer.echo(json.dumps({**stats, "matching": found.total, "releases": releases}, ensure_ascii=False))
        return
    sources = ", ".join(f"{name} {n}" for name, n in stats["by_source"].items()) or "none"
    languages = ", ".join(f"{name} {n}" for name, n in stats["by_language"].items()) or "none"
    typer.echo(f"{stats['documents']} releases, {stats['chunks']} passages; sources: {sources}; languages: {languages}")
    if words:
        typer.echo(f"{found.total} with {' '.join(words)!r} in the title or source:")
    for d in found.documents:
        when = d.published.isoformat() if d.published else "----------"
        typer.echo(f"{when}  {d.source or '(unknown)'}  {d.title or d.path}  ({d.n_chunks} passages)")
    if found.total > len(found.documents):
        typer.echo(f"... {found.total - len(found.documents)} more (--limit 0 lists all)")


@app.command("export-vectors")
def export_vectors(
    folder: Annotated[Path, typer.Argument(help="a corpus folder this store has ingested")],
    data_dir: DataDir = None,
):
    """Write FOLDER/.vectors/<model>.npz: the stored vectors of FOLDER's passages, so ingesting
    FOLDER into another store (another machine, a fresh clone) reuses them instead of encoding."""
    from rag.ingest.vector_cache import cache_path, write_cache

    services = _services(data_dir)
    store = services.store
    model = store.embedding_model() or services.embedding_model()
    texts, vectors = store.embedded(folder)
    if not texts:
        typer.secho(f"error: the store at {services.settings.data_dir} holds no passage from {folder}", fg="red", err=True)
        raise typer.Exit(1)
    path = cache_path(folder, model)
    n = write_cache(path, model, services.settings.embedding.max_tokens, texts, vectors)
    typer.echo(f"{n} vectors of {model} -> {path} ({path.stat().st_size / 1e6:.1f} MB)")
    side = store.cross_lingual
    if side.exists() and side.model != model:  # the e5 vectors for questions in other languages too
        texts, vectors = store.embedded(folder, collection=side.collection)
        if texts:
            path = cache_path(folder, side.model)
            n = write_cache(path, side.model, services.settings.embedding.max_tokens, texts, vectors)
            typer.echo(f"{n} vectors of {side.model} -> {path} ({path.stat().st_size / 1e6:.1f} MB)")


def _parse_dates(date_from: Optional[str], date_to: Optional[str]) -> tuple[Optional[date], Optional[date]]:
    """--from 2025-03 is 1 March, --to 2025-03 is 31 March (rag.date_bounds)."""
    from rag.date_bounds import NotADate, parse_range

    try:
        return parse_range(date_from, date_to, "--from", "--to")
    except NotADate as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(2)


@app.command()
def ask(
    question: Annotated[Optional[str], typer.Argument(help="the question (or use --file)")] = None,
    questions_file: Annotated[
        Optional[str], typer.Option("--file", help="questions, one per line, from this file ('-' = stdin)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the Answer object as JSON (one per line with --file)")] = False,
    date_from: Annotated[Optional[str], typer.Option("--from", help="earliest publication date: 2025-03-21, 2025-03 (from the 1st) or 2025")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="latest publication date: 2025-03-21, 2025-03 (to the month's end) or 2025")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="only this source (repeatable)")] = None,
    language: Annotated[
        Optional[list[str]], typer.Option("--language", help="only releases in this language: en, ru, kk, ... (repeatable)")
    ] = None,
    top_k: Annotated[Optional[int], typer.Option("-k", "--top-k", help="passages to retrieve")] = None,
    generator: Annotated[Optional[str], typer.Option("--generator", help="extractive | local | openai")] = None,
    local: Annotated[bool, typer.Option("--local", help="answer in this process even when a server is running")] = False,
    data_dir: DataDir = None,
):
    """Answer questions from the stored releases, with numbered citations.

    When `rag up` or `rag serve` is running on the same data_dir, the question goes to it (the
    answer comes back in well under a second instead of paying ~10 s of model loading here)."""
    from rag.answer.limits import QuestionTooLong, check_question_length
    from rag.types import Filters

    questions = _questions(question, questions_file)
    settings = _settings(data_dir)
    start, end = _parse_dates(date_from, date_to)
    filters = Filters(
        date_from=start, date_to=end, sources=tuple(source or ()),
        languages=tuple(code.strip().lower() for code in language or ()),
    )
    try:
        for q in questions:
            check_question_length(q, settings.answer.max_question_chars)
    except QuestionTooLong as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(2)
    answers = None if local else _ask_server(settings, questions, filters, top_k, generator)
    answered_here = answers is None
    if answered_here:
        answers = _ask_here(settings, questions, filters, top_k, generator)
    for number, answer in enumerate(answers):
        if as_json:
            typer.echo(json.dumps(answer, ensure_ascii=False, indent=None if len(questions) > 1 else 2))
            continue
        if len(questions) > 1:
            typer.echo(("\n" if number else "") + f"Q: {answer['question']}")
        typer.echo(format_answer(answer))
    if answered_here and _exit_when_answered:
        # Everything is printed and whatever this command wrote (a lexical index it rebuilt) is
        # on disk: tearing chromadb's, spaCy's and their modules down at interpreter exit would
        # add ~0.4 s to a ~2.5 s command. The encoder's process sees its socket close and exits.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _questions(question: Optional[str], questions_file: Optional[str]) -> list[str]:
    if questions_file is None:
        if not question or not question.strip():
            typer.secho("error: give a question, or --file with one question per line", fg="red", err=True)
            raise typer.Exit(2)
        return [question]
    try:
        text = sys.stdin.read() if questions_file == "-" else Path(questions_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        typer.secho(f"error: cannot read questions from {questions_file}: {error}", fg="red", err=True)
        raise typer.Exit(2)
    questions = ([question] if question else []) + [line.strip() for line in text.splitlines() if line.strip()]
    if not questions:
        typer.secho(f"error: no questions in {questions_file}", fg="red", err=True)
        raise typer.Exit(2)
    return questions


def _ask_server(settings, questions, filters, top_k, generator):
    """Answers from a server running on this data_dir, or None when there is none (or it fails
    to answer: then this process answers instead)."""
    from rag.running_server import ServerUnavailable, ask_server, running_server

    url = running_server(settings.data_dir)
    if url is None:
        return None
    try:
        return [ask_server(url, q, filters, top_k or 0, generator or "") for q in questions]
    except ServerUnavailable as error:
        typer.secho(f"note: the server of {settings.data_dir} did not answer ({error}); answering here",
                    fg="yellow", err=True)
        return None
    except RuntimeError as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1)


def _ask_here(settings, questions, filters, top_k, generator):
    from rag.services import get_services
    from rag.store import EmbeddingModelMismatch

    services = get_services(settings)
    services.encode_in_worker(questions)  # torch loads on the other core while this process loads the rest
    try:
        services.prepare_for(questions)  # the workers load their models while spaCy loads here
        return [
            services.answers.ask(q, filters=filters, top_k=top_k, generator=generator).to_dict() for q in questions
        ]
    except EmbeddingModelMismatch as error:
        raise _model_mismatch(error)


def format_answer(answer: dict) -> str:
    """An answer (Answer.to_dict()) as the terminal shows it."""
    lines = [answer["text"].strip(), ""]
    unsupported = [s["text"] for s in answer["sentences"] if not s["supported"]]
    if unsupported:
        lines.append("Not supported by the sources (shown for transparency):")
        lines.extend(f"  ? {text}" for text in unsupported)
        lines.append("")
    if answer["citations"]:
        lines.append("Sources:")
        for cite in answer["citations"]:
            when = cite["published"] or "undated"
            where = cite["url"] or cite["path"]
            lines.append(f"[{cite['key']}] {cite['title']} ({when}, {cite['source'] or 'unknown source'}) {where}")
            lines.append(f'    "{cite["quote"]}"')
    return "\n".join(lines).rstrip()


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="default 127.0.0.1 (settings.ui.host)")] = None,
    port: Annotated[Optional[int], typer.Option(help="default 7860 (settings.ui.port)")] = None,
    auth: Annotated[Optional[str], typer.Option(help="USER:PASSWORD to require a login")] = None,
    data_dir: DataDir = None,
):
    """Serve the chat UI."""
    from ui.app import launch

    services = _services(data_dir)
    credentials = None
    if auth:
        user, _, password = auth.partition(":")
        if not user or not password:
            typer.secho("error: --auth wants USER:PASSWORD", fg="red", err=True)
            raise typer.Exit(2)
        credentials = (user, password)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop like Ctrl-C: the server file is withdrawn
    launch(services, host=host, port=port, auth=credentials)


@app.command()
def up(
    host: Annotated[Optional[str], typer.Option()] = None,
    port: Annotated[Optional[int], typer.Option()] = None,
    corpus: Annotated[Optional[Path], typer.Option("--corpus", help="what to ingest (default: the demo corpus)")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="ingest fully first, then serve")] = False,
    data_dir: DataDir = None,
):
    """Serve the UI at once while the corpus is ingested in the background (seconds when already done)."""
    from rag.demo import demo_corpus

    corpus = corpus or demo_corpus()
    if not corpus.exists():
        typer.secho(f"error: {corpus} does not exist (the demo corpus ships in the checkout's corpus/ and in a "
                    "wheel's share/rag-press/corpus); pass --corpus PATH", fg="red", err=True)
        raise typer.Exit(2)
    # gradio is imported before the ingest thread starts, which then loads the model: heavy
    # imports in two threads at once can trip over each other's module locks.
    from ui.app import launch

    services = _services(data_dir)
    services.follows_feeds = bool(services.settings.feeds)  # the UI then keeps its banner polling
    where = f"{corpus} into {services.settings.data_dir}"

    def feed_checked(done) -> None:
        if done.error:
            typer.secho(f"{done.feed.url}: failed: {done.error}", fg="red", err=True)
        elif done.report is not None:
            _print_report(done.report)

    def follow_feeds() -> None:
        feeds = services.settings.feeds
        typer.echo("following " + ", ".join(f"{f.url} every {f.every}" for f in feeds))
        # may run in the ingest thread as it ends: the follower waits for it before its first check
        services.follow_feeds(on_check=feed_checked)

    if wait:
        typer.echo(f"ingesting {where} ...")
        _run_ingest(services, [corpus])
        if services.settings.feeds:
            follow_feeds()
        try:
            launch(services, host=host, port=port)
        finally:
            if services.feed_follower is not None:
                services.feed_follower.stop()
        return

    bars = _ProgressBars()

    def finished(background) -> None:
        bars.close()
        status = background.status()
        if background.report is not None:
            _print_report(background.report)
            typer.echo("background ingest finished: answers now cover the whole corpus")
        elif status.phase == "failed":
            typer.secho(f"ingest failed: {status.error}; the UI answers from what was stored", fg="red", err=True)
        if services.settings.feeds and status.phase != "interrupted":
            follow_feeds()

    typer.echo(f"ingesting {where} in the background; answers cover what is indexed so far")
    # SIGTERM stops like Ctrl-C: gradio's wait loop returns, then the ingest stops between two steps.
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    background = None
    try:
        background = services.start_background_ingest([corpus], listener=bars, on_finish=finished)
        launch(services, host=host, port=port)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if services.feed_follower is not None:
            services.feed_follower.stop()
        background = services.background_ingest or background
        if background is not None and background.running:
            background.cancel()
            typer.echo("stopping the ingest after the current batch ...", err=True)
            stopped = background.join(timeout=STOP_TIMEOUT_S)
            bars.close()
            typer.secho(
                "interrupted: what was stored so far is kept; `rag up` again finishes the ingest"
                if stopped else f"the ingest did not stop within {STOP_TIMEOUT_S} s; exiting anyway",
                err=True,
            )


@app.command("llm-server")
def llm_server(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8001,
):
    """Serve the bundled SmolLM2 as an OpenAI-compatible API (one warm model for many workers)."""
    from rag.llm_server import main as serve_llm

    serve_llm(["--host", host, "--port", str(port)])


@app.command("eval")
def eval_cmd(
    suite: Annotated[list[Path], typer.Argument(help="suite files in eval/suites/ (several: side by side)")],
    config: Annotated[
        Optional[list[str]],
        typer.Option("--config", "-c", help="mode[:generator][:key=value,...], repeatable; e.g. hybrid:extractive"),
    ] = None,
    out: Annotated[Path, typer.Option(help="report folder")] = Path("eval/reports"),
    limit: Annotated[Optional[int], typer.Option(help="only the first N questions (a quick run)")] = None,
    name: Annotated[Optional[str], typer.Option(help="report folder name (default: suites and a timestamp)")] = None,
    data_dir: DataDir = None,
):
    """Run an eval suite over the ingested corpus; compare configurations in one Markdown + HTML report."""
    from rag.evaluation.runner import run_eval

    try:
        report = run_eval(suite, configs=config, settings=_settings(data_dir), out_dir=out, limit=limit, name=name,
                          progress=lambda message: typer.echo(message, err=True))
    except (ValueError, FileNotFoundError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(2)
    typer.echo(f"report: {report}")


@bench_app.command("beir")
def bench_beir(
    path: Annotated[Path, typer.Argument(help="a BEIR-format dataset folder")],
    out: Annotated[Path, typer.Option(help="report folder")] = Path("eval/reports"),
    unit: Annotated[
        Optional[list[str]],
        typer.Option(help="index unit, repeatable: doc (whole texts), chunk (the product's chunks), "
                          "doc+chunk (BM25 on whole texts fused with each text's best chunk)"),
    ] = None,
):
    """nDCG@10 and Recall@100 of lexical, dense and hybrid retrieval on a BEIR dataset's test queries."""
    from rag.evaluation.beir import run_beir

    units = tuple(unit or ["doc"])
    unknown = set(units) - {"doc", "chunk", "doc+chunk"}
    if unknown:
        typer.secho(f"error: unknown --unit {', '.join(sorted(unknown))}; use doc, chunk or doc+chunk", fg="red", err=True)
        raise typer.Exit(2)

    result = run_beir(path, settings=_settings(), out_dir=out, units=units)
    typer.echo(json.dumps(result, indent=2, default=str))


# Set by run(), the `rag` command itself (not by tests that call `app` in their own process).
_exit_when_answered = False


def run() -> None:
    """The `rag` command."""
    global _exit_when_answered
    _exit_when_answered = True
    app()


if __name__ == "__main__":
    run()
