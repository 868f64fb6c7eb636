"""LangChain and LlamaIndex adapters against the real packages (installed by scripts/setup.sh)."""

from __future__ import annotations

import pytest

TEXTS = ["the quick brown fox", "jumps over the lazy dog", "search the index", "a brown dog sleeps",
         "fox and dog", "the index is lazy"]


def test_langchain_vector_store(tmp_path, tiny_model):
    pytest.importorskip("langchain_core", reason="langchain-core is not installed (pip install leann[langchain])")
    from langchain_core.documents import Document

    from leann.langchain import LeannEmbeddings, LeannVectorStore

    store = LeannVectorStore.from_texts(TEXTS, metadatas=[{"n": i, "tag": "a" if i < 3 else "b"}
                                                          for i in range(len(TEXTS))],
                                        ids=[f"d{i}" for i in range(len(TEXTS))], persist_directory=str(tmp_path),
                                        embedding_model=tiny_model)
    hits = store.similarity_search_with_score(TEXTS[2], k=3)
    assert hits[0][0].page_content == TEXTS[2] and hits[0][0].id == "d2" and hits[0][1] == pytest.approx(0, abs=1e-4)
    assert [score for _, score in hits] == sorted(score for _, score in hits)
    filtered = store.similarity_search(TEXTS[2], k=3, filter={"tag": "b"})
    assert len(filtered) == 3 and all(d.metadata["tag"] == "b" for d in filtered)
    relevance = store.similarity_search_with_relevance_scores(TEXTS[4], k=1)
    assert relevance[0][0].id == "d4" and relevance[0][1] == pytest.approx(1.0, abs=1e-4)
    new_ids = store.add_documents([Document(page_content="a new page about owls", metadata={"tag": "c"})])
    assert store.get_by_ids(new_ids)[0].page_content == "a new page about owls"
    assert store.delete(ids=["d0", "d1"])
    assert store.get_by_ids(["d0", "d1", "d2"])[0].id == "d2" and len(store.get_by_ids(["d0", "d1"])) == 0
    retriever = store.as_retriever(search_kwargs={"k": 2})
    docs = retriever.invoke(TEXTS[5])
    assert len(docs) == 2 and docs[0].page_content == TEXTS[5]
    embeddings = LeannEmbeddings(tiny_model)
    assert len(embeddings.embed_query("x")) == 32 and len(embeddings.embed_documents(["a", "b"])) == 2
    by_vector = store.similarity_search_by_vector(embeddings.embed_query(TEXTS[3]), k=1)
    assert by_vector[0].id == "d3"


def test_llama_index_vector_store(tmp_path, tiny_model):
    pytest.importorskip("llama_index.core", reason="llama-index-core is not installed (pip install leann[llamaindex])")
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters

    from leann.llama_index import LeannEmbedding, LeannVectorStore

    store = LeannVectorStore(persist_directory=str(tmp_path), embedding_model=tiny_model)
    documents = [Document(text=t, metadata={"n": i, "tag": "a" if i < 3 else "b"}, doc_id=f"doc{i}")
                 for i, t in enumerate(TEXTS)]
    index = VectorStoreIndex.from_documents(documents, storage_context=StorageContext.from_defaults(
        vector_store=store), embed_model=LeannEmbedding(tiny_model))
    assert store.client.count() == len(TEXTS)
    retriever = index.as_retriever(similarity_top_k=2)
    nodes = retriever.retrieve(TEXTS[2])
    assert len(nodes) == 2 and nodes[0].node.get_content() == TEXTS[2] and nodes[0].node.metadata["n"] == 2
    assert nodes[0].score == pytest.approx(1.0, abs=1e-4) and nodes[0].node.ref_doc_id == "doc2"
    filters = MetadataFilters(filters=[MetadataFilter(key="tag", value="b"),
                                       MetadataFilter(key="n", value=4, operator=FilterOperator.GTE)])
    only_b = index.as_retriever(similarity_top_k=5, filters=filters).retrieve(TEXTS[0])
    assert sorted(n.node.metadata["n"] for n in only_b) == [4, 5]
    index.delete_ref_doc("doc2")
    assert store.client.count() == len(TEXTS) - 1
    assert all(n.node.ref_doc_id != "doc2" for n in retriever.retrieve(TEXTS[2]))
