"""The native binding: encoder, index build/open/search, writer, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np
import pytest

import leann

TEXTS = ["the quick brown fox", "jumps over the lazy dog", "search the index", "a brown dog sleeps",
         "fox and dog", "the index is lazy"]


def docs(texts=TEXTS):
    return [leann.Document(str(i), t, json.dumps({"n": i})) for i, t in enumerate(texts)]


def test_encoder_returns_float32_rows_without_copy(tiny_model):
    encoder = leann.Encoder.load(tiny_model)
    assert encoder.dims == 32 and encoder.info.name == "tiny-cls-norm"
    vectors = encoder.encode(TEXTS, "passage")
    assert vectors.shape == (len(TEXTS), 32) and vectors.dtype == np.float32
    assert vectors.flags["C_CONTIGUOUS"] and vectors.base is not None  # a view of the library's buffer
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    again = encoder.encode([TEXTS[2]])
    np.testing.assert_allclose(again[0], vectors[2], atol=1e-5)
    with pytest.raises(leann.Error, match="role"):
        encoder.encode(["x"], "document")


def test_errors_are_python_exceptions_with_the_library_message(tmp_path, tiny_model):
    bad = tmp_path / "bad.leann"
    bad.write_bytes(b"not an index at all" * 100)
    with pytest.raises(leann.FormatError) as caught:
        leann.Index.open(bad)
    assert str(bad) in str(caught.value)
    assert issubclass(leann.FormatError, leann.Error) and issubclass(leann.Error, RuntimeError)
    with pytest.raises(leann.ModelError):
        leann.Encoder.load(tmp_path)
    with pytest.raises(leann.ModelError, match="all-MiniLM-L6-v2|installed"):
        leann.resolve_model("no-such-model-anywhere")


def test_build_open_search(tmp_path, tiny_model):
    encoder = leann.Encoder.load(tiny_model)
    path = tmp_path / "x.leann"
    leann.Index.build(path, docs(), encoder)
    index = leann.Index.open(path)
    assert len(index) == len(TEXTS) and index.model.name == "tiny-cls-norm" and index.model.dims == 32
    index.attach_encoder(encoder)
    options = leann.SearchOptions()
    options.top_k = 3
    result = index.search(TEXTS[3], options)
    assert len(result.hits) == 3 and result.hits[0].id == "3" and result.hits[0].text == TEXTS[3]
    assert json.loads(result.hits[0].metadata) == {"n": 3}
    assert result.hits[0].score == pytest.approx(1.0, abs=1e-4)
    # numpy in: float64 and non-contiguous inputs are converted, float32 rows are used as they are.
    query = encoder.encode([TEXTS[4]], "query")[0]
    assert index.search_vector(query, options).hits[0].id == "4"
    assert index.search_vector(query.astype(np.float64), options).hits[0].id == "4"
    with pytest.raises(leann.Error, match="dims"):
        index.search_vector(np.zeros(7, np.float32), options)
    assert [d.id for _, d in index.documents()] == [str(i) for i in range(len(TEXTS))]
    stats = index.stats()
    assert stats.chunks == len(TEXTS) and stats.deleted == 0 and stats.file_bytes == path.stat().st_size
    index.verify()


def test_build_from_vectors(tmp_path, tiny_model):
    encoder = leann.Encoder.load(tiny_model)
    vectors = encoder.encode(TEXTS, "passage")
    path = tmp_path / "v.leann"
    info = encoder.info
    leann.Index.build_from_vectors(path, docs(), vectors, info.name, info.content_hash, leann.Metric.cosine)
    index = leann.Index.open(path)
    index.attach_encoder(encoder)
    assert index.search(TEXTS[1]).hits[0].id == "1"
    with pytest.raises(leann.Error, match="vectors for"):
        leann.Index.build_from_vectors(path, docs()[:2], vectors, info.name, info.content_hash, leann.Metric.cosine)


def test_writer_updates_and_lock(tmp_path, tiny_model):
    encoder = leann.Encoder.load(tiny_model)
    path = tmp_path / "w.leann"
    with leann.IndexWriter(path, encoder) as writer:
        stats = writer.upsert(docs())
        assert stats.chunks_added == len(TEXTS) and stats.live_chunks == len(TEXTS)
        with pytest.raises(leann.IndexLockedError):
            leann.IndexWriter(path, encoder)
        stats = writer.remove(["0", "1", "missing"])
        assert stats.chunks_removed == 2 and stats.live_chunks == len(TEXTS) - 2
        stats = writer.upsert([leann.Document("2", "a new text for two", "{}")])
        assert stats.live_chunks == len(TEXTS) - 2 and stats.embedded == 1
    assert writer.closed
    with pytest.raises(leann.Error, match="closed"):
        writer.upsert(docs())
    leann.IndexWriter(path, encoder).close()  # the lock was released
    index = leann.Index.open(path)
    index.attach_encoder(encoder)
    live = {d.id: d.text for _, d in index.documents()}
    assert set(live) == {"2", "3", "4", "5"} and live["2"] == "a new text for two"
    index.verify()


def test_concurrent_searches_from_threads(tmp_path, tiny_model):
    encoder = leann.Encoder.load(tiny_model)
    path = tmp_path / "t.leann"
    leann.Index.build(path, docs(), encoder)
    index = leann.Index.open(path)
    index.attach_encoder(encoder)
    found: dict[int, str] = {}

    def run(i: int) -> None:
        found[i] = index.search(TEXTS[i % len(TEXTS)]).hits[0].id

    threads = [threading.Thread(target=run, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == {i: str(i % len(TEXTS)) for i in range(12)}


def test_import_changes_no_process_state():
    # Importing leann must not change the BLAS thread setting nor spawn threads of its own beyond what loading
    # OpenBLAS does; checked through OpenBLAS's own getter in a fresh process.
    code = (
        "import ctypes, ctypes.util\n"
        "blas = ctypes.CDLL('libopenblas.so.0')\n"
        "before = blas.openblas_get_num_threads()\n"
        "import leann\n"
        "print(before, blas.openblas_get_num_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == out[1]


def test_type_stubs_are_installed():
    from pathlib import Path

    stub = Path(leann.__file__).parent / "_core.pyi"
    text = stub.read_text()
    assert "class Index" in text and "def search(" in text and "class IndexLockedError(Error)" in text
    assert (Path(leann.__file__).parent / "py.typed").is_file()
