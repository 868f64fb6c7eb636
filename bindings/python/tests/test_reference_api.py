"""The reference package's API: its README's programs run unchanged, and every option is either honoured, warned
about or refused with a clear message."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

import leann
from leann import LeannBuilder, LeannChat, LeannSearcher

# The reference README's "Quick Start", verbatim (github.com/yichuan-w/LEANN, README.md).
README_QUICK_START = '''
from leann import LeannBuilder, LeannSearcher, LeannChat
from pathlib import Path
INDEX_PATH = str(Path("./").resolve() / "demo.leann")

# Build an index
builder = LeannBuilder(backend_name="hnsw")
builder.add_text("LEANN saves 97% storage compared to traditional vector databases.")
builder.add_text("Tung Tung Tung Sahur called—they need their banana‑crocodile hybrid back")
builder.build_index(INDEX_PATH)

# Search
searcher = LeannSearcher(INDEX_PATH)
results = searcher.search("fantastical AI-generated creatures", top_k=1)

# Chat with your data
chat = LeannChat(INDEX_PATH, llm_config={"type": "hf", "model": "Qwen/Qwen3-0.6B"})
response = chat.ask("How much storage does LEANN save?", top_k=1)
'''


def run_program(source: str, cwd, epilogue: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", source + textwrap.dedent(epilogue)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_readme_quick_start(tmp_path, real_model):
    # Build and search run unchanged; the "hf" chat model (PyTorch) is refused with a message that says what to
    # use instead. Replacing only the llm_config with Ollama's runs the rest unchanged (test below).
    head, chat = README_QUICK_START.split("# Chat with your data")
    done = run_program(head, tmp_path, """
        print(results[0].id, results[0].text.startswith("Tung"), type(results[0].score).__name__, results[0].metadata)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[:3] == ["1", "True", "float"]
    assert (tmp_path / "demo.leann").is_file()
    refused = run_program(README_QUICK_START, tmp_path)
    assert refused.returncode != 0
    assert "leann._core.Error" in refused.stderr and "'hf'" in refused.stderr and "ollama" in refused.stderr


class FakeOllama(BaseHTTPRequestHandler):
    """Ollama's OpenAI-compatible endpoint, answering with the prompt it got (so the test sees the context)."""

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.path == "/v1/chat/completions"
        user = body["messages"][-1]["content"]
        reply = json.dumps({"choices": [{"message": {"role": "assistant",
                                                     "content": f"model={body['model']} prompt={user}"}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply.encode())

    def log_message(self, *args):
        pass


def test_readme_quick_start_with_ollama(tmp_path, real_model):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOllama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        program = README_QUICK_START.replace(
            '{"type": "hf", "model": "Qwen/Qwen3-0.6B"}',
            f'{{"type": "ollama", "model": "llama3.2:1b", "host": "http://127.0.0.1:{server.server_port}"}}')
        done = run_program(program, tmp_path, "print(response)")
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    assert "model=llama3.2:1b" in done.stdout and "LEANN saves 97% storage" in done.stdout
    assert "How much storage does LEANN save?" in done.stdout


def test_builder_options(tmp_path, tiny_model):
    with pytest.raises(ValueError, match="backend_name='ivf'"):
        LeannBuilder(backend_name="ivf", embedding_model=tiny_model)
    with pytest.warns(UserWarning, match="one backend"):
        LeannBuilder(backend_name="diskann", embedding_model=tiny_model)
    with pytest.raises(ValueError, match="embedding_mode='openai'"):
        LeannBuilder(embedding_model=tiny_model, embedding_mode="openai")
    with pytest.raises(leann.ModelError, match="facebook/contriever"):
        LeannBuilder(embedding_model="facebook/contriever")
    with pytest.raises(ValueError, match="dimensions=768"):
        LeannBuilder(embedding_model=tiny_model, dimensions=768)
    with pytest.warns(UserWarning, match="zmq_port"):
        LeannBuilder(embedding_model=tiny_model, zmq_port=5557)
    builder = LeannBuilder(embedding_model=tiny_model, graph_degree=16, complexity=32, distance_metric="cosine",
                           num_threads=1)
    with pytest.raises(ValueError, match="no texts"):
        builder.build_index(tmp_path / "empty.leann")


def test_sentence_transformers_name_maps_to_the_installed_model(real_model):
    builder = LeannBuilder(embedding_model="sentence-transformers/all-MiniLM-L6-v2")
    assert builder.dimensions == 384


def test_search_update_and_filters(tmp_path, tiny_model):
    path = tmp_path / "idx.leann"
    builder = LeannBuilder(embedding_model=tiny_model)
    texts = ["the quick brown fox", "jumps over the lazy dog", "search the index", "a brown dog sleeps"]
    for i, text in enumerate(texts):
        builder.add_text(text, metadata={"kind": "even" if i % 2 == 0 else "odd", "n": i})
    builder.build_index(path)
    with LeannSearcher(path) as searcher:
        results = searcher.search(texts[2], top_k=2)
        assert [r.id for r in results][0] == "2" and results[0].metadata["n"] == 2
        assert isinstance(results[0], leann.SearchResult) and results[0].text == texts[2]
        odd = searcher.search(texts[2], top_k=4, metadata_filters={"kind": {"==": "odd"}})
        assert sorted(r.id for r in odd) == ["1", "3"]
        assert [r.id for r in searcher.search(texts[0], top_k=3, metadata_filters={"n": {">=": 3}})] == ["3"]
        with pytest.warns(UserWarning, match="expected_zmq_port"):
            searcher.search(texts[0], top_k=1, expected_zmq_port=5557)
        approximate = searcher.search(texts[1], top_k=1, recompute_embeddings=False, complexity=16)
        assert len(approximate) == 1
    update = LeannBuilder(embedding_model=tiny_model)
    update.add_text("a fresh text about foxes")
    update.update_index(path)
    searcher = LeannSearcher(path)
    fresh = searcher.search("a fresh text about foxes", top_k=1)
    assert fresh[0].text == "a fresh text about foxes" and fresh[0].id == "4"
    assert len(searcher.search("fox", top_k=10)) == 5


def test_build_index_from_embeddings(tmp_path, tiny_model):
    builder = LeannBuilder(embedding_model=tiny_model)
    texts = ["alpha beta", "gamma delta", "epsilon zeta"]
    for text in texts:
        builder.add_text(text)
    vectors = leann.load_encoder(tiny_model).encode(texts, "passage")
    embeddings_file = tmp_path / "embeddings.pkl"
    with open(embeddings_file, "wb") as f:
        pickle.dump((["0", "1", "2"], vectors), f)
    builder.build_index_from_embeddings(tmp_path / "e.leann", str(embeddings_file))
    assert LeannSearcher(tmp_path / "e.leann").search("gamma delta", top_k=1)[0].id == "1"
    more = LeannBuilder(embedding_model=tiny_model)
    more.add_text("eta theta")
    more.update_index(tmp_path / "e.leann")  # no record manifest: rebuilt once from the texts, then in place
    searcher = LeannSearcher(tmp_path / "e.leann")
    assert searcher.search("eta theta", top_k=1)[0].id == "3" and len(searcher.search("alpha", top_k=9)) == 4
    more.add_text("iota kappa")
    more.update_index(tmp_path / "e.leann")
    assert leann.Index.open(tmp_path / "e.leann").stats().generation == 2
    with pytest.raises(ValueError, match="do not come from"):
        builder.build_index_from_embeddings(tmp_path / "f.leann", (["0", "1", "2"], np.ones((3, 32), np.float32)))
    assert not (tmp_path / "f.leann").exists()


def test_chat_refusals(tmp_path, tiny_model):
    builder = LeannBuilder(embedding_model=tiny_model)
    builder.add_text("one text")
    builder.build_index(tmp_path / "c.leann")
    with pytest.raises(leann.Error, match="not supported"):
        LeannChat(tmp_path / "c.leann", llm_config={"type": "gemini"})
    simulated = LeannChat(tmp_path / "c.leann", llm_config={"type": "simulated"})
    assert "simulated" in simulated.ask("anything?", top_k=1)
    unreachable = LeannChat(tmp_path / "c.leann", llm_config={"type": "ollama", "model": "m",
                                                                "host": "http://127.0.0.1:9"})
    with pytest.raises(leann.Error, match="not reachable"):
        unreachable.ask("anything?")
    with pytest.raises(leann.NotFoundError):
        LeannSearcher(tmp_path / "missing.leann")
