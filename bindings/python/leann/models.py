"""Embedding models by name, and one loaded encoder per model folder shared by the whole process."""

from __future__ import annotations

import os
import threading
from typing import Optional

from . import _core

# Names other packages use for models we run under another name. Anything "org/name" whose "name" is installed
# resolves on its own (the model cache keeps models by their last path part).
_ALIASES = {
    "sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2",
    "all-minilm-l6-v2": "all-MiniLM-L6-v2",
    "all-minilm": "all-MiniLM-L6-v2",  # Ollama's name
}

_encoders: dict[str, _core.Encoder] = {}
_encoders_lock = threading.Lock()


def resolve(name: Optional[str]) -> str:
    """The model folder for ``name`` (None: the default model). Raises ``leann.ModelError`` with the installed
    models and how to get others."""
    if name is None:
        name = _core.default_model_name
    name = os.fspath(name)
    try:
        return os.fspath(_core.resolve_model(_ALIASES.get(name, _ALIASES.get(name.lower(), name))))
    except _core.ModelError as error:
        raise _core.ModelError(
            f"embedding model {name!r} is not available: {error}. LEANN runs BERT-family sentence-transformers "
            f"models in-process (no PyTorch); install one with scripts/fetch_model.sh or pass a model folder's path."
        ) from None


def encoder(name_or_path: Optional[str] = None) -> _core.Encoder:
    """The encoder of a model (loaded once per process and shared: it is thread-safe)."""
    path = resolve(name_or_path)
    with _encoders_lock:
        loaded = _encoders.get(path)
        if loaded is None:
            loaded = _core.Encoder.load(path)
            _encoders[path] = loaded
        return loaded


def encoder_for_index(index: _core.Index, model: Optional[str] = None) -> _core.Encoder:
    """The shared encoder of the model an index records (or of ``model``), attached to the index. An encoder already
    loaded in this process with the recorded content hash is used first (a model loaded from a folder outside the
    model cache is known by its path, the index records its name)."""
    chosen = None
    if model is None:
        with _encoders_lock:
            chosen = next((e for e in _encoders.values() if e.info.content_hash == index.model.content_hash), None)
    if chosen is None:
        chosen = encoder(model if model is not None else index.model.name)
    index.attach_encoder(chosen)
    return chosen
