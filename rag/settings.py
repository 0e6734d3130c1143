"""One typed settings object for the whole product.

Sources, highest priority first: explicit arguments, environment variables
(``RAG_`` prefix, e.g. ``RAG_DATA_DIR``, ``RAG_STORE__URL``), the config file
(``RAG_CONFIG`` or ``./rag.toml``), then the defaults below. Unknown keys are
rejected so a typo in a config file is an error, not a silently ignored line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbeddingSettings(_Section):
    model: str = Field(
        "auto",
        description="'auto' (a store keeps the model that made its vectors; a new store gets "
        "'bundled:multilingual-e5-small' when any document is not in English, else 'bundled:all-MiniLM-L6-v2'), "
        "one of those two, or a local sentence-transformers model directory",
    )
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto",
        description="auto = bfloat16 where the CPU computes it natively (AVX512-BF16/AMX: ~2.75x faster than fp32, "
        "cosine >= 0.996), else float32 (on AVX2-only CPUs bf16 is emulated and ~5x slower)",
    )
    # 16: measured fastest on both CPUs here (400 demo chunks, sorted by length: bf16-native EPYC
    # 7.6 s at 16 or 32 vs 8.3 s at 64; fp32 12.4 s at 16 vs 14.4 s at 64): small batches stay in cache.
    batch_size: int = Field(16, ge=1)
    max_tokens: int = Field(256, ge=16, description="the model's window in word pieces")
    cross_lingual: Literal["auto", "on", "off"] = Field(
        "auto",
        description="a store whose model reads only English (MiniLM) can also keep multilingual-e5 vectors of "
        "its chunks, so questions in Russian and Kazakh find English releases (rag.bridge). on: always (each new "
        "chunk is encoded twice); auto: once an ingested folder carries e5 vectors (.vectors/, as the demo corpus "
        "does), and from then on for every new chunk; off: never",
    )


class StoreSettings(_Section):
    url: str = Field("", description="Chroma server URL (http://host:port); empty = embedded store under data_dir")
    collection: str = "releases"


class ChunkSettings(_Section):
    max_tokens: int = Field(200, ge=32, description="body word pieces per chunk; title and date are added on top")
    min_tokens: int = Field(40, ge=0, description="chunks shorter than this are merged with a neighbour")


class RetrievalSettings(_Section):
    top_k: int = Field(8, ge=1, description="passages handed to the generator")
    # Defaults chosen by the numbers (eval/README.md, bench/README.md). On the demo suite, min-max
    # fusion of 100 candidates a side answers best (fact recall 0.798 and refusal recall 0.91 vs
    # 0.792 / 0.86 for z-score with 1000 lexical hits; retrieval nDCG@10 equal, 0.908 vs 0.909) and
    # keeps fused p95 under 30 ms at 100k chunks (27.6-28.9 ms; 1000 HNSW hits: 40 ms). SciFact's
    # train split prefers z-score over 1000 candidates by ~0.005 nDCG@10: available, not default.
    candidates: int = Field(100, ge=1, description="hits taken from each retriever before fusion")
    dense_candidates: int = Field(
        0, ge=0, description="hits taken from the dense retriever (HNSW, the costly side) if not candidates; 0 = candidates"
    )
    exact_up_to: int = Field(
        50_000, ge=0,
        description="an unfiltered dense search is exact (every vector scored) on stores of up to this many chunks, "
        "and Chroma's approximate HNSW index above: at 12k chunks exact costs what HNSW does (~2 ms) and HNSW "
        "missed up to half of the exact top 10 for some questions, differently in each build of the same store",
    )
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    fusion: Literal["minmax", "zscore", "rrf"] = "minmax"
    dense_weight: float = Field(0.5, ge=0.0, le=1.0, description="weight of the dense score in min-max and z-score fusion")
    rrf_k: int = Field(60, ge=1)
    boilerplate_penalty: float = Field(
        0.5, ge=0.0, le=1.0, description="share of the fused scores' range a chunk that is all boilerplate loses"
    )


# The answer layer's rules that can be switched off one at a time (for the ablation in eval/README.md).
AnswerRule = Literal["types", "roles", "premise", "boilerplate", "parts", "conversation", "release", "period",
                     "part-periods", "undated-query", "undated-years",
                     "period-lists"]


class AnswerSettings(_Section):
    max_question_chars: int = Field(
        1000, ge=20, description="longer questions are refused with a clear message (the UI's box stops there too)"
    )
    disable: list[AnswerRule] = Field(
        default_factory=list,
        description="rules to switch off, for ablations: types (answer types), roles (a named role must be "
        "named), premise (false-premise check), boilerplate, parts (multi-part splitting), conversation "
        "(follow-up rewriting), release (\"the latest release\" answers), period (event dates looked up in the text), "
        "part-periods (a part naming its own period is searched and answered in it), undated-query (undated "
        "releases are searched with the question's period left in), undated-years (an undated release's sentence "
        "about another year than the question's is no answer), period-lists (\"in 2021 and in 2022\" "
        "asked part by part, each in its period)",
    )


class GeneratorSettings(_Section):
    backend: Literal["extractive", "local", "openai"] = "extractive"
    openai_base_url: str = Field("http://127.0.0.1:11434/v1", description="any OpenAI-compatible server")
    openai_model: str = "llama3.1"
    openai_api_key: str = Field("not-needed", description="most local servers ignore it")
    max_new_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    timeout_s: float = Field(120.0, gt=0)


class IngestSettings(_Section):
    """What one file may cost to read (hostile or broken input fails with a clear error instead)."""

    max_file_mb: int = Field(512, ge=1, description="any file; a single-release text or HTML file may have "
                             "8 bytes per allowed character at most")
    max_unpacked_mb: int = Field(256, ge=1, description="what a gzipped archive (.jsonl.gz, .csv.gz, ...) or a .docx may unpack to")
    max_release_chars: int = Field(1_000_000, ge=1000, description="the text of one release")
    write_batch: int = Field(512, ge=1, description="passages encoded and stored per step, whole releases: "
                             "the unit of progress and of what a crash loses")
    field_map: dict[str, list[str]] = Field(
        default_factory=dict, description="an archive's record keys per field (id, title, published, url, text, "
        "source), tried instead of the known names and the guessing: {text = [\"zz_column_7\"]}")

    def read_limits(self):
        from rag.ingest.readers import ReadLimits

        return ReadLimits(self.max_file_mb << 20, self.max_unpacked_mb << 20, self.max_release_chars)


class UISettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=0, le=65535)
    auth_user: str = ""
    auth_password: str = ""
    max_upload_mb: int = Field(50, ge=1, description="per uploaded file (and what a zip may unpack to)")
    max_upload_files: int = Field(
        100, ge=1, description="files one upload may hold; a zip counts once (its members: up to 5,000)"
    )


class WebSettings(_Section):
    """How releases are fetched from ministries' websites (`rag ingest URL`, `rag follow`, [[feeds]])."""

    user_agent: str = Field(
        "rag-press/0.1 (press-release reader; polite: honours robots.txt, one request per host at a time)",
        description="sent with every request; sites may ask crawlers to identify themselves with a contact",
    )
    respect_robots: bool = Field(True, description="skip what a site's robots.txt forbids to user_agent")
    min_interval_s: float = Field(
        1.0, ge=0.0, description="at least this long between two requests to the same host (a robots.txt "
        "Crawl-delay that asks for longer wins)"
    )
    timeout_s: float = Field(20.0, gt=0, description="per request: connect, and each wait for data")
    retries: int = Field(2, ge=0, description="retries after a timeout, a dropped connection, HTTP 429 or 5xx")
    backoff_s: float = Field(2.0, ge=0.0, description="wait before the first retry; doubled for each next one")
    max_page_mb: float = Field(5.0, gt=0, description="a page or feed bigger than this is refused, not truncated")
    max_pages: int = Field(500, ge=1, description="pages fetched from one feed or sitemap per run, newest first")


class FeedSettings(_Section):
    """A feed, sitemap or page that `rag up` and `rag follow` keep checking."""

    url: str
    every: str = Field("1h", description="how often: a number with s, m, h or d (\"30m\", \"1h\", \"1d\")")
    sync: bool = Field(False, description="also remove releases the feed no longer lists (a press archive keeps them by default)")

    @field_validator("every")
    @classmethod
    def _interval(cls, value: str) -> str:
        parse_interval(value)  # raises with the reason
        return value

    @property
    def every_seconds(self) -> float:
        return parse_interval(self.every)


_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_INTERVAL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL_S = 10.0  # a feed polled more often than this is a denial of service, not following


def parse_interval(value: str) -> float:
    """Seconds in "90", "30s", "15m", "1h", "1d"; ValueError naming the problem otherwise."""
    match = _INTERVAL.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not an interval (a number with s, m, h or d: '30m', '1h')")
    seconds = float(match[1]) * _INTERVAL_UNITS[match[2].lower()]
    if seconds < MIN_INTERVAL_S:
        raise ValueError(f"{value!r} is too often: feeds are checked at most every {MIN_INTERVAL_S:g} s")
    return seconds


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAG_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file=None,  # set per-instance in settings_sources
    )

    data_dir: Path = Field(Path(".rag"), description="where the embedded store, lexical index and manifest live")
    embedding: EmbeddingSettings = EmbeddingSettings()
    store: StoreSettings = StoreSettings()
    chunking: ChunkSettings = ChunkSettings()
    ingest: IngestSettings = IngestSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    generator: GeneratorSettings = GeneratorSettings()
    answer: AnswerSettings = AnswerSettings()
    ui: UISettings = UISettings()
    web: WebSettings = WebSettings()
    feeds: list[FeedSettings] = Field(default_factory=list, description="[[feeds]] tables in the config file")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = config_file_path()
        if config is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)


def config_file_path() -> Path | None:
    """The config file in force: $RAG_CONFIG if set (must exist), else ./rag.toml if present."""
    explicit = os.environ.get("RAG_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"RAG_CONFIG points at {path}, which is not a file")
        return path
    default = Path("rag.toml")
    return default if default.is_file() else None


def load_settings(**overrides) -> Settings:
    return Settings(**overrides)
