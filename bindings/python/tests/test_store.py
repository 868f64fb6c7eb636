"""The Chroma-shaped vector store: collections, records, filters, durability, threads and processes."""

from __future__ import annotations

import multiprocessing
import threading

import numpy as np
import pytest

import leann
from leann.store import DuplicateIDError

TEXTS = ["the quick brown fox", "jumps over the lazy dog", "search the index", "a brown dog sleeps",
         "fox and dog", "the index is lazy", "quick search", "over the brown index"]


@pytest.fixture()
def client(tmp_path, tiny_model):
    return leann.PersistentClient(tmp_path / "db", embedding_model=tiny_model)


def fill(collection, n=len(TEXTS)):
    collection.add(ids=[f"id{i}" for i in range(n)], documents=TEXTS[:n],
                   metadatas=[{"n": i, "even": i % 2 == 0, "tag": "a" if i < 4 else "b"} for i in range(n)])


def test_collections_lifecycle(client, tmp_path, tiny_model):
    assert client.list_collections() == []
    notes = client.create_collection("notes", metadata={"owner": "me"})
    assert notes.name == "notes" and notes.metadata == {"owner": "me"} and notes.count() == 0
    with pytest.raises(ValueError, match="already exists"):
        client.create_collection("notes")
    again = client.get_or_create_collection("notes")
    assert again.id == notes.id
    with pytest.raises(leann.NotFoundError):
        client.get_collection("missing")
    with pytest.raises(ValueError, match="collection name"):
        client.create_collection("../escape")
    client.get_or_create_collection("other")
    assert [c.name for c in client.list_collections()] == ["notes", "other"]
    fill(notes)
    client.delete_collection("notes")
    assert [c.name for c in client.list_collections()] == ["other"]
    with pytest.raises(leann.NotFoundError):
        client.get_collection("notes")
    # Another client on the same folder sees the same collections.
    assert [c.name for c in leann.PersistentClient(tmp_path / "db").list_collections()] == ["other"]


def test_add_get_count(client):
    notes = client.get_or_create_collection("notes")
    fill(notes)
    assert notes.count() == len(TEXTS)
    got = notes.get(ids=["id3", "id1", "nope"])
    assert got["ids"] == ["id3", "id1"] and got["documents"] == [TEXTS[3], TEXTS[1]]
    assert got["metadatas"][0] == {"n": 3, "even": False, "tag": "a"}
    assert notes.get(limit=3, offset=2)["ids"] == ["id2", "id3", "id4"]
    assert notes.get(where={"tag": "b"})["ids"] == ["id4", "id5", "id6", "id7"]
    assert notes.get(where={"$and": [{"n": {"$gte": 2}}, {"even": True}]})["ids"] == ["id2", "id4", "id6"]
    assert notes.get(where={"$or": [{"n": 0}, {"n": {"$in": [5, 7]}}]})["ids"] == ["id0", "id5", "id7"]
    assert notes.get(where_document={"$contains": "brown"})["ids"] == ["id0", "id3", "id7"]
    with_vectors = notes.get(ids=["id2"], include=["embeddings"])
    assert with_vectors["documents"] is None and with_vectors["embeddings"].shape == (1, 32)
    # Existing ids are left as they are (Chroma's add), duplicates within a call are refused.
    with pytest.warns(UserWarning, match="already exist"):
        notes.add(ids=["id0", "new"], documents=["changed text", "a new record"])
    assert notes.get(ids=["id0"])["documents"] == [TEXTS[0]] and notes.count() == len(TEXTS) + 1
    with pytest.raises(DuplicateIDError):
        notes.add(ids=["x", "x"], documents=["one", "two"])
    with pytest.raises(ValueError, match="documents are required"):
        notes.add(ids=["y"], embeddings=[[0.0] * 32])
    with pytest.raises(ValueError, match="metadata value"):
        notes.add(ids=["z"], documents=["text"], metadatas=[{"bad": [1, 2]}])
    with pytest.raises(ValueError, match="where: unknown operator"):
        notes.get(where={"n": {"$like": 3}})


def test_query(client):
    notes = client.get_or_create_collection("notes")
    assert notes.query(query_texts=["anything"], n_results=3)["ids"] == [[]]
    fill(notes)
    found = notes.query(query_texts=[TEXTS[2], TEXTS[5]], n_results=3)
    assert [ids[0] for ids in found["ids"]] == ["id2", "id5"]
    assert all(len(ids) == 3 for ids in found["ids"])
    assert found["distances"][0][0] == pytest.approx(0.0, abs=1e-4)
    assert found["distances"][0] == sorted(found["distances"][0])
    assert found["documents"][1][0] == TEXTS[5] and found["metadatas"][1][0]["n"] == 5
    assert found["embeddings"] is None
    with_vectors = notes.query(query_texts=[TEXTS[1]], n_results=2, include=["embeddings", "distances"])
    assert with_vectors["documents"] is None and with_vectors["embeddings"][0].shape == (2, 32)
    # Filters: every hit passes, and the best passing record is found.
    filtered = notes.query(query_texts=[TEXTS[2]], n_results=3, where={"tag": "b"})
    assert len(filtered["ids"][0]) == 3 and all(m["tag"] == "b" for m in filtered["metadatas"][0])
    only = notes.query(query_texts=[TEXTS[2]], n_results=5, where={"n": 7})
    assert only["ids"] == [["id7"]]
    by_text = notes.query(query_texts=[TEXTS[0]], n_results=8, where_document={"$contains": "dog"})
    assert sorted(by_text["ids"][0]) == ["id1", "id3", "id4"]
    # Query embeddings from the collection's model.
    vector = leann.load_encoder(notes.embedding_model).encode([TEXTS[6]], "query")
    assert notes.query(query_embeddings=vector, n_results=1)["ids"] == [["id6"]]
    with pytest.raises(ValueError, match="exactly one"):
        notes.query(n_results=2)


def test_update_upsert_delete(client, tmp_path):
    notes = client.get_or_create_collection("notes")
    fill(notes)
    notes.update(ids=["id1"], metadatas=[{"tag": "z", "even": None}])
    assert notes.get(ids=["id1"])["metadatas"] == [{"n": 1, "tag": "z"}]
    notes.update(ids=["id2"], documents=["completely different words"])
    assert notes.query(query_texts=["completely different words"], n_results=1)["ids"] == [["id2"]]
    with pytest.warns(UserWarning, match="do not exist"):
        notes.update(ids=["ghost"], documents=["boo"])
    notes.upsert(ids=["id3", "id100"], documents=["replaced three", "a hundred"], metadatas=[{"k": 1}, {"k": 2}])
    assert notes.get(ids=["id3", "id100"])["documents"] == ["replaced three", "a hundred"]
    assert notes.get(ids=["id3"])["metadatas"] == [{"k": 1}]
    assert notes.count() == len(TEXTS) + 1
    notes.delete(ids=["id0", "missing"])
    notes.delete(where={"tag": "b"})
    remaining = notes.get()["ids"]
    assert "id0" not in remaining and not any(i in remaining for i in ("id4", "id5", "id6", "id7"))
    assert notes.count() == len(remaining) == 4
    with pytest.raises(ValueError, match="give ids"):
        notes.delete()
    # Durable: a new client (another process would do the same) sees every write.
    reopened = leann.PersistentClient(tmp_path / "db").get_collection("notes")
    assert sorted(reopened.get()["ids"]) == sorted(remaining)
    # Removing every record leaves an empty collection that takes records again.
    notes.delete(ids=remaining)
    assert notes.count() == 0 and notes.get()["ids"] == []
    notes.add(ids=["back"], documents=["back again"])
    assert notes.get()["ids"] == ["back"]


def test_embeddings_must_come_from_the_model(client):
    notes = client.get_or_create_collection("notes")
    ours = leann.load_encoder(notes.embedding_model).encode(TEXTS[:2], "passage")
    notes.add(ids=["a", "b"], documents=TEXTS[:2], embeddings=ours)  # accepted: they agree
    with pytest.raises(ValueError, match="do not come from"):
        notes.add(ids=["c"], documents=[TEXTS[2]], embeddings=np.ones((1, 32), np.float32))
    with pytest.raises(ValueError, match="dims"):
        notes.add(ids=["d"], documents=[TEXTS[3]], embeddings=[[0.5] * 8])


def test_writers_from_threads(client):
    notes = client.get_or_create_collection("notes")
    errors = []

    def add(t: int) -> None:
        try:
            for k in range(3):
                notes.add(ids=[f"t{t}-{k}"], documents=[f"thread {t} record {k} {TEXTS[(t + k) % len(TEXTS)]}"])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=add, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(notes.get()["ids"]) == sorted(f"t{t}-{k}" for t in range(4) for k in range(3))


def _process_writer(path: str, model: str, worker: int) -> None:
    notes = leann.PersistentClient(path, embedding_model=model).get_or_create_collection("shared")
    for k in range(3):
        notes.add(ids=[f"p{worker}-{k}"], documents=[f"process {worker} record {k}"],
                  metadatas=[{"worker": worker}])


def test_writers_from_processes(tmp_path, tiny_model):
    path = str(tmp_path / "db")
    leann.PersistentClient(path, embedding_model=tiny_model).get_or_create_collection("shared")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_process_writer, args=(path, tiny_model, w)) for w in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    shared = leann.PersistentClient(path).get_collection("shared")
    assert shared.count() == 9
    assert sorted(shared.get(where={"worker": 2})["ids"]) == ["p2-0", "p2-1", "p2-2"]
