"""LangChain adapter (``pip install leann[langchain]``): ``LeannVectorStore``, a ``VectorStore`` over a collection
of ``leann.PersistentClient``, and ``LeannEmbeddings``, LangChain ``Embeddings`` from LEANN's in-process encoder.

Filters use Chroma's ``where`` syntax (``{"source": "a.md"}``, ``{"year": {"$gte": 2020}}``), as with
langchain-chroma. Scores of ``similarity_search_with_score`` are distances, lower is better (1 - cosine
similarity), as with langchain-chroma; ``similarity_search_with_relevance_scores`` gives 1 - distance.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Iterable, Optional, Sequence

try:
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_core.vectorstores import VectorStore
except ImportError as error:
    raise ImportError(f"leann.langchain needs langchain-core: pip install 'leann[langchain]' ({error})") from error

from . import models
from .store import Collection, PersistentClient


class LeannEmbeddings(Embeddings):
    """Embeddings from a model run in-process by LEANN (default: all-MiniLM-L6-v2)."""

    def __init__(self, model: Optional[str] = None):
        self.model = model
        self._encoder = models.encoder(model)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.encode(list(texts), "passage").tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._encoder.encode([text], "query")[0].tolist()


class LeannVectorStore(VectorStore):
    """A LangChain vector store kept in a LEANN collection (durable writes, several processes)."""

    def __init__(self, collection_name: str = "langchain", persist_directory: str = "./leann_data",
                 embedding_model: Optional[str] = None, collection: Optional[Collection] = None,
                 embedding_function: Optional[Embeddings] = None):
        if collection is None:
            client = PersistentClient(persist_directory, embedding_model=embedding_model)
            collection = client.get_or_create_collection(collection_name, embedding_model=embedding_model)
        self._collection = collection
        self._embeddings = embedding_function

    @property
    def collection(self) -> Collection:
        return self._collection

    @property
    def embeddings(self) -> Embeddings:
        if self._embeddings is None:
            self._embeddings = LeannEmbeddings(self._collection.embedding_model)
        return self._embeddings

    def add_texts(self, texts: Iterable[str], metadatas: Optional[list[dict]] = None, *,
                  ids: Optional[list[str]] = None, **kwargs: Any) -> list[str]:
        texts = list(texts)
        if not texts:
            return []
        ids = [str(i) if i else str(uuid.uuid4()) for i in ids] if ids else [str(uuid.uuid4()) for _ in texts]
        self._collection.upsert(ids=ids, documents=texts, metadatas=metadatas)
        return ids

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids = kwargs.pop("ids", None) or [d.id or str(uuid.uuid4()) for d in documents]
        return self.add_texts([d.page_content for d in documents], [d.metadata for d in documents], ids=ids,
                              **kwargs)

    def delete(self, ids: Optional[list[str]] = None, **kwargs: Any) -> Optional[bool]:
        where = kwargs.get("where") or kwargs.get("filter")
        if ids is None and not where:
            return False
        self._collection.delete(ids=ids, where=where)
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        found = self._collection.get(ids=list(ids))
        return [Document(page_content=text, metadata=metadata or {}, id=i)
                for i, text, metadata in zip(found["ids"], found["documents"], found["metadatas"])]

    def similarity_search_with_score(self, query: str, k: int = 4, filter: Optional[dict] = None,
                                     where_document: Optional[dict] = None,
                                     **kwargs: Any) -> list[tuple[Document, float]]:
        found = self._collection.query(query_texts=[query], n_results=k, where=filter, where_document=where_document)
        return [(Document(page_content=text, metadata=metadata or {}, id=i), distance)
                for i, text, metadata, distance in zip(found["ids"][0], found["documents"][0],
                                                       found["metadatas"][0], found["distances"][0])]

    def similarity_search(self, query: str, k: int = 4, filter: Optional[dict] = None,
                          **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4, filter: Optional[dict] = None,
                                    **kwargs: Any) -> list[Document]:
        found = self._collection.query(query_embeddings=[embedding], n_results=k, where=filter)
        return [Document(page_content=text, metadata=metadata or {}, id=i)
                for i, text, metadata in zip(found["ids"][0], found["documents"][0], found["metadatas"][0])]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return lambda distance: min(1.0, max(0.0, 1.0 - distance))

    @classmethod
    def from_texts(cls, texts: list[str], embedding: Optional[Embeddings] = None,
                   metadatas: Optional[list[dict]] = None, *, ids: Optional[list[str]] = None,
                   collection_name: str = "langchain", persist_directory: str = "./leann_data",
                   embedding_model: Optional[str] = None, **kwargs: Any) -> "LeannVectorStore":
        """A store filled with ``texts``. ``embedding`` is not used to index (LEANN embeds in-process with
        ``embedding_model``); it is what ``store.embeddings`` returns."""
        store = cls(collection_name=collection_name, persist_directory=persist_directory,
                    embedding_model=embedding_model, embedding_function=embedding)
        store.add_texts(texts, metadatas, ids=ids)
        return store
