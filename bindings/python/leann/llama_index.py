"""LlamaIndex adapter (``pip install leann[llamaindex]``): ``LeannVectorStore``, a vector store over a collection of
``leann.PersistentClient``, and ``LeannEmbedding``, a LlamaIndex embedding model from LEANN's in-process encoder.

The store keeps text (``stores_text``) and embeds it itself; queries are answered from ``query_str`` with the
collection's model (``is_embedding_query`` is False, so LlamaIndex need not embed queries), or from
``query_embedding`` when there is no query string (it must then come from the collection's model).
"""

from __future__ import annotations

from typing import Any, Optional

try:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import PrivateAttr
    from llama_index.core.schema import BaseNode, MetadataMode
    from llama_index.core.vector_stores.types import (
        BasePydanticVectorStore,
        FilterCondition,
        FilterOperator,
        MetadataFilters,
        VectorStoreQuery,
        VectorStoreQueryResult,
    )
    from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict
except ImportError as error:
    raise ImportError(f"leann.llama_index needs llama-index-core: pip install 'leann[llamaindex]' ({error})") \
        from error

from . import models
from .store import Collection, PersistentClient

_OPERATORS = {
    FilterOperator.EQ: "$eq", FilterOperator.NE: "$ne", FilterOperator.GT: "$gt", FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt", FilterOperator.LTE: "$lte", FilterOperator.IN: "$in", FilterOperator.NIN: "$nin",
}


class LeannEmbedding(BaseEmbedding):
    """Embeddings from a model run in-process by LEANN (default: all-MiniLM-L6-v2)."""

    _encoder: Any = PrivateAttr()

    def __init__(self, model: Optional[str] = None, **kwargs: Any):
        super().__init__(model_name=model or "all-MiniLM-L6-v2", **kwargs)
        self._encoder = models.encoder(model)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encoder.encode([query], "query")[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encoder.encode([text], "passage")[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.encode(list(texts), "passage").tolist() if texts else []


def filters_to_where(filters: Optional[MetadataFilters]) -> Optional[dict]:
    """LlamaIndex MetadataFilters -> Chroma's where (ValueError for operators it cannot express)."""
    if filters is None or not filters.filters:
        return None
    clauses = []
    for f in filters.filters:
        if isinstance(f, MetadataFilters):
            clauses.append(filters_to_where(f))
            continue
        op = _OPERATORS.get(f.operator)
        if op is None:
            raise ValueError(f"metadata filter operator {f.operator!r} is not supported by LeannVectorStore")
        clauses.append({f.key: {op: f.value}})
    if len(clauses) == 1:
        return clauses[0]
    condition = filters.condition or FilterCondition.AND
    if condition not in (FilterCondition.AND, FilterCondition.OR):
        raise ValueError(f"metadata filter condition {condition!r} is not supported by LeannVectorStore")
    return {"$and" if condition == FilterCondition.AND else "$or": clauses}


class LeannVectorStore(BasePydanticVectorStore):
    """A LlamaIndex vector store kept in a LEANN collection (durable writes, several processes)."""

    stores_text: bool = True
    flat_metadata: bool = True
    is_embedding_query: bool = False

    _collection: Collection = PrivateAttr()

    def __init__(self, collection: Optional[Collection] = None, collection_name: str = "llama_index",
                 persist_directory: str = "./leann_data", embedding_model: Optional[str] = None, **kwargs: Any):
        super().__init__(**kwargs)
        if collection is None:
            client = PersistentClient(persist_directory, embedding_model=embedding_model)
            collection = client.get_or_create_collection(collection_name, embedding_model=embedding_model)
        self._collection = collection

    @classmethod
    def class_name(cls) -> str:
        return "LeannVectorStore"

    @property
    def client(self) -> Collection:
        return self._collection

    def add(self, nodes: list[BaseNode], **kwargs: Any) -> list[str]:
        if not nodes:
            return []
        ids, texts, metadatas = [], [], []
        for node in nodes:
            ids.append(node.node_id)
            texts.append(node.get_content(metadata_mode=MetadataMode.NONE) or " ")
            metadata = node_to_metadata_dict(node, remove_text=True, flat_metadata=self.flat_metadata)
            metadatas.append({k: v for k, v in metadata.items() if v is not None})
        self._collection.upsert(ids=ids, documents=texts, metadatas=metadatas)
        return ids

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        if self._collection.get(where={"ref_doc_id": ref_doc_id}, include=())["ids"]:
            self._collection.delete(where={"ref_doc_id": ref_doc_id})

    def delete_nodes(self, node_ids: Optional[list[str]] = None, filters: Optional[MetadataFilters] = None,
                     **delete_kwargs: Any) -> None:
        where = filters_to_where(filters)
        if node_ids is None and where is None:
            return
        self._collection.delete(ids=node_ids, where=where)

    def clear(self) -> None:
        ids = self._collection.get(include=())["ids"]
        if ids:
            self._collection.delete(ids=ids)

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        where = filters_to_where(query.filters)
        if query.doc_ids:
            where = {"$and": [where, {"ref_doc_id": {"$in": list(query.doc_ids)}}]} if where else \
                {"ref_doc_id": {"$in": list(query.doc_ids)}}
        if query.node_ids:
            raise ValueError("LeannVectorStore.query: restricting a query to node_ids is not supported")
        k = query.similarity_top_k or 2
        if query.query_str:
            found = self._collection.query(query_texts=[query.query_str], n_results=k, where=where)
        elif query.query_embedding is not None:
            found = self._collection.query(query_embeddings=[query.query_embedding], n_results=k, where=where)
        else:
            raise ValueError("LeannVectorStore.query: the query has neither query_str nor query_embedding")
        nodes = []
        for text, metadata in zip(found["documents"][0], found["metadatas"][0]):
            node = metadata_dict_to_node(metadata or {}, text=text)
            node.set_content(text)
            nodes.append(node)
        return VectorStoreQueryResult(nodes=nodes, similarities=[1.0 - d for d in found["distances"][0]],
                                      ids=list(found["ids"][0]))
