"""Migration from a real Chroma persistent folder (made here with PyPI chromadb)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import leann

chromadb = pytest.importorskip("chromadb", reason="chromadb is not installed (scripts/setup.sh installs it)")
from leann.migrate import migrate_chroma  # noqa: E402

WORDS = ["fox", "dog", "index", "search", "brown", "lazy", "quick", "jumps", "over", "the", "graph", "node"]


def make_chroma(path, encoder, n=120, matching=True):
    rng = np.random.default_rng(7)
    ids = [f"doc-{i}" for i in range(n)]
    documents = [" ".join(rng.choice(WORDS, size=8)) + f" {i}" for i in range(n)]
    metadatas = [{"n": i, "tag": "even" if i % 2 == 0 else "odd"} for i in range(n)]
    vectors = encoder.encode(documents, "passage")
    if not matching:
        vectors = rng.standard_normal(vectors.shape).astype(np.float32)
    client = chromadb.PersistentClient(path=str(path))
    collection = client.create_collection("notes", metadata={"hnsw:space": "cosine"}, embedding_function=None)
    collection.add(ids=ids, documents=documents, metadatas=metadatas, embeddings=vectors.tolist())
    return ids, documents, metadatas


def test_migrate_reuses_matching_embeddings(tmp_path, tiny_model):
    encoder = leann.load_encoder(tiny_model)
    ids, documents, metadatas = make_chroma(tmp_path / "chroma", encoder)
    target = tmp_path / "out" / "notes.leann"
    report = migrate_chroma(tmp_path / "chroma", output=target, model=tiny_model, log=lambda *a: None)
    assert report.reused_embeddings and report.sample_cosine_min >= 0.999
    assert report.records == 120 and report.index_bytes == target.stat().st_size > 0 and report.chroma_bytes > 0
    assert report.top10_overlap >= 0.8 and "metadatas" in report.checks
    index = leann.Index.open(target)
    index.attach_encoder(encoder)
    stored = {d.id: d for _, d in index.documents()}
    assert set(stored) == set(ids)
    assert json.loads(stored["doc-7"].metadata) == metadatas[7] and stored["doc-7"].text == documents[7]
    assert index.search(documents[42]).hits[0].id == "doc-42"
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []


def test_migrate_re_embeds_foreign_vectors_and_leaves_no_partial_target(tmp_path, tiny_model):
    encoder = leann.load_encoder(tiny_model)
    make_chroma(tmp_path / "chroma", encoder, n=40, matching=False)
    target = tmp_path / "out.leann"
    report = migrate_chroma(tmp_path / "chroma", output=target, model=tiny_model, log=lambda *a: None)
    assert not report.reused_embeddings and report.sample_cosine_min < 0.5
    assert report.records == 40 and target.is_file()
    # A collection name that does not exist: an error, and nothing written.
    missing = tmp_path / "never.leann"
    with pytest.raises(leann.NotFoundError, match="no collection 'other'"):
        migrate_chroma(tmp_path / "chroma", collection="other", output=missing, model=tiny_model)
    assert not missing.exists()


def test_migrate_command_line(tmp_path, tiny_model):
    encoder = leann.load_encoder(tiny_model)
    make_chroma(tmp_path / "chroma", encoder, n=30)
    done = subprocess.run([sys.executable, "-m", "leann.migrate", "chroma", str(tmp_path / "chroma"), "--output",
                           str(tmp_path / "cli.leann"), "--model", tiny_model, "--json"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["records"] == 30 and report["reused_embeddings"] and report["collection"] == "notes"
    failed = subprocess.run([sys.executable, "-m", "leann.migrate", "chroma", str(tmp_path / "nowhere")],
                            capture_output=True, text=True, timeout=600)
    assert failed.returncode == 1 and "is not a folder" in failed.stderr
