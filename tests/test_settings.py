import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from rag.settings import Settings


def test_defaults_are_the_embedded_offline_setup(settings):
    assert settings.store.url == ""
    assert settings.embedding.model == "auto"  # the store, then the documents' languages, decide
    assert settings.generator.backend == "extractive"
    assert settings.ui.host == "127.0.0.1"


def test_env_vars_override_defaults(settings, monkeypatch):
    monkeypatch.setenv("RAG_RETRIEVAL__TOP_K", "3")
    monkeypatch.setenv("RAG_STORE__URL", "http://127.0.0.1:9000")
    loaded = Settings()
    assert loaded.retrieval.top_k == 3
    assert loaded.store.url == "http://127.0.0.1:9000"


def test_config_file_is_read_and_env_wins_over_it(settings, tmp_path, monkeypatch):
    config = tmp_path / "custom.toml"
    config.write_text('data_dir = "/tmp/x"\n[retrieval]\ntop_k = 5\nmode = "dense"\n')
    monkeypatch.setenv("RAG_CONFIG", str(config))
    assert Settings().retrieval.top_k == 5
    monkeypatch.setenv("RAG_RETRIEVAL__TOP_K", "7")
    loaded = Settings()
    assert loaded.retrieval.top_k == 7
    assert loaded.retrieval.mode == "dense"


def test_rag_toml_in_working_dir_is_picked_up(settings, tmp_path):
    (tmp_path / "rag.toml").write_text("[chunking]\nmax_tokens = 120\n")
    assert Settings().chunking.max_tokens == 120


def test_unknown_keys_are_rejected(settings, tmp_path, monkeypatch):
    (tmp_path / "rag.toml").write_text("[retrieval]\ntop_kk = 5\n")
    with pytest.raises(ValidationError):
        Settings()


def test_missing_explicit_config_file_is_an_error(settings, monkeypatch):
    monkeypatch.setenv("RAG_CONFIG", "/nonexistent/rag.toml")
    with pytest.raises(FileNotFoundError, match="/nonexistent/rag.toml"):
        Settings()


def test_rag_config_command_prints_effective_settings(settings, tmp_path):
    (tmp_path / "rag.toml").write_text("[retrieval]\ntop_k = 4\n")
    out = subprocess.run(
        [sys.executable, "-m", "rag.cli", "config", "--json"], capture_output=True, text=True, cwd=tmp_path,
        check=True,
    ).stdout
    assert json.loads(out)["retrieval"]["top_k"] == 4
