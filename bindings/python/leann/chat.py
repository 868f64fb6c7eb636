"""Chat models behind ``LeannChat``: any server with an OpenAI-compatible ``/chat/completions`` endpoint (Ollama,
llama.cpp's server, vLLM, OpenAI), reached with the standard library only."""

from __future__ import annotations

import json
import os
from typing import Any, Optional

from . import _core

_OLLAMA = "http://127.0.0.1:11434"
_SIMULATED_ANSWER = "This is a simulated answer from the LLM based on the retrieved context."


class ChatModel:
    """One chat model: ``complete(messages) -> str``."""

    def __init__(self, base_url: Optional[str], model: Optional[str], api_key: Optional[str] = None,
                 timeout_s: float = 120.0, simulated: bool = False):
        self.base_url = (base_url or "").rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.simulated = simulated

    def _request(self, path: str, body: Optional[dict]) -> Any:
        import urllib.error  # here, not at import: `import leann` stays quick
        import urllib.request

        url = self.base_url + path
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers=headers, method="GET" if body is None else "POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                payload = response.read(64 << 20)
        except urllib.error.HTTPError as error:
            detail = error.read(4096).decode("utf-8", "replace")
            raise _core.Error(f"LLM server {url}: HTTP {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            raise _core.Error(f"LLM server {url} is not reachable ({error}); start one (e.g. `ollama serve`) or "
                              f"set llm_config's base_url") from None
        try:
            return json.loads(payload)
        except ValueError:
            raise _core.Error(f"LLM server {url}: the reply is not JSON") from None

    def complete(self, messages: list[dict], **options: Any) -> str:
        if self.simulated:
            return _SIMULATED_ANSWER
        if not self.model:
            listed = self._request("/models", None)
            try:
                self.model = listed["data"][0]["id"]
            except (KeyError, IndexError, TypeError):
                raise _core.Error(f"LLM server {self.base_url}: no model given and none listed at /models") from None
        reply = self._request("/chat/completions", {"model": self.model, "messages": messages, "stream": False,
                                                    **options})
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise _core.Error(f"LLM server {self.base_url}: unexpected reply (no choices[0].message.content)") from None
        if not isinstance(content, str):
            raise _core.Error(f"LLM server {self.base_url}: the answer is not text")
        return content


def chat_model(llm_config: Optional[dict]) -> ChatModel:
    """The reference's ``llm_config`` -> a ChatModel. Types: "ollama" (model, host), "openai" (model, base_url,
    api_key; default $OPENAI_API_KEY), "simulated" (a fixed answer, for tests). None: $LEANN_LLM_URL or a local
    Ollama, model $LEANN_LLM_MODEL or the first the server lists (as ``leann ask``)."""
    config = dict(llm_config or {})
    kind = config.pop("type", None)
    timeout_s = float(config.pop("timeout", config.pop("timeout_s", 120.0)))
    if kind is None:
        return ChatModel(os.environ.get("LEANN_LLM_URL") or _OLLAMA + "/v1", os.environ.get("LEANN_LLM_MODEL"),
                         os.environ.get("LEANN_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY"), timeout_s)
    if kind == "ollama":
        host = config.pop("host", None) or os.environ.get("OLLAMA_HOST") or _OLLAMA
        if not host.startswith(("http://", "https://")):
            host = "http://" + host
        return ChatModel(host.rstrip("/") + "/v1", config.pop("model", None), None, timeout_s)
    if kind == "openai":
        base_url = config.pop("base_url", None) or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        api_key = config.pop("api_key", None) or os.environ.get("OPENAI_API_KEY")
        return ChatModel(base_url, config.pop("model", "gpt-4o"), api_key, timeout_s)
    if kind == "simulated":
        return ChatModel(None, "simulated", simulated=True)
    if kind in ("hf", "huggingface", "mlx"):
        raise _core.Error(f"llm_config type {kind!r} runs the model in Python with PyTorch/MLX, which this package "
                          f"does not depend on; serve the model with an OpenAI-compatible server (Ollama, llama.cpp) "
                          f"and use {{'type': 'ollama', 'model': ...}} or {{'type': 'openai', 'base_url': ...}}")
    raise _core.Error(f"llm_config type {kind!r} is not supported (expected 'ollama', 'openai' or 'simulated')")
