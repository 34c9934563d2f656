"""Fine-tune the encoder's top layers on the training intents, cheaply.

all-MiniLM-L6-v2 has six transformer layers. Only the last two are trained (with a linear intent
head, cross-entropy); the first four stay frozen, so their output (hidden state 4, per token) is
computed once by the shared ONNX encoder and the training runs the two top layers alone — a third
of the network, no backward pass through the bottom, no re-encoding per epoch.

Training computes the features of the training texts with the tuned layers in numpy from those
cached states (``TopLayers.states``); at parse time the whole encoder with the tuned layers runs as
its own ONNX graph (``TopLayers.graph``, exported once). The classifier's features are hidden
states 4, 5', 6' mean-pooled (5' and 6' tuned).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import erf

log = logging.getLogger(__name__)
BASE = 4  # the frozen hidden state the tuned layers start from (0 = token embeddings)
KEEP_GRAPHS = 3  # tuned encoder graphs (~90 MB each) kept in the model cache, most recently used first
HEADS = 12
EPS = 1e-12  # the model's layer_norm_eps
_KEYS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
         "intermediate.dense", "output.dense")


def _norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight + bias


class TopLayers:
    """The tuned BERT layers in numpy (inference): the same arithmetic as transformers' BertLayer
    with eager attention and exact GELU (tests/unit/bot/test_tuning.py compares them)."""

    def __init__(self, layers: list[dict[str, np.ndarray]]) -> None:
        self.layers = layers  # transformers' state_dict names and (out, in) weights: what is pickled
        self._t = [{k: np.ascontiguousarray(v.T) if v.ndim == 2 else v for k, v in w.items()} for w in layers]

    def __getstate__(self) -> dict[str, Any]:
        return {"layers": self.layers}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["layers"])  # type: ignore[misc]

    def graph(self) -> Path:
        """The whole encoder with these top layers as an ONNX graph (the shared model's outputs,
        hidden states 4-6), exported on first use and cached by a digest of the weights: at parse
        time the tuned encoder costs what the frozen one does (numpy ran the two layers ~2.5x
        slower than ONNX Runtime runs all six)."""
        from knowledge_base.search.encoder import _export, _export_lock, model_dir, onnx_path

        digest = hashlib.sha256()
        for w in self.layers:
            for key in sorted(w):
                digest.update(key.encode())
                digest.update(np.ascontiguousarray(w[key]).tobytes())
        target = onnx_path().parent / f"bot-tuned-{digest.hexdigest()[:16]}.onnx"
        with _export_lock:
            if target.exists():
                os.utime(target)  # recently used: what pruning keeps
            else:
                _export(model_dir(), target, patch=self._patch)
            prune_graphs(target.parent, keep=KEEP_GRAPHS, current=target)
        return target

    def _patch(self, model: Any) -> None:
        import torch

        for layer, w in zip(model.encoder.layer[BASE:], self.layers, strict=True):
            layer.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in w.items()})

    @classmethod
    def from_torch(cls, modules: Any) -> TopLayers:
        return cls([{k: v.detach().cpu().numpy().astype(np.float32) for k, v in m.state_dict().items()}
                    for m in modules])

    @staticmethod
    def _layer(w: dict[str, np.ndarray], x: np.ndarray, bias: np.ndarray) -> np.ndarray:
        b, n, d = x.shape
        h = d // HEADS
        flat = x.reshape(b * n, d)  # 2-D products on contiguous (in, out) weights: BLAS, not a loop

        def dense(name: str, v: np.ndarray) -> np.ndarray:
            return v @ w[f"{name}.weight"] + w[f"{name}.bias"]

        q, k, v = (dense(name, flat).reshape(b, n, HEADS, h).transpose(0, 2, 1, 3) for name in _KEYS[:3])
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(h)) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = ((scores / scores.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(b * n, d)
        flat = _norm(dense("attention.output.dense", attn) + flat, w["attention.output.LayerNorm.weight"],
                     w["attention.output.LayerNorm.bias"])
        inner = dense("intermediate.dense", flat)
        inner = 0.5 * inner * (1.0 + erf(inner / np.float32(np.sqrt(2.0))))
        out = dense("output.dense", inner) + flat
        return _norm(out, w["output.LayerNorm.weight"], w["output.LayerNorm.bias"]).reshape(b, n, d)

    def states(self, x: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        """Hidden states after each tuned layer, from hidden state ``BASE`` (batch, tokens, dim).
        One message: BLAS on one thread (more threads only spin for matrices this small)."""
        bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        out = []
        with _one_thread() if x.shape[0] == 1 else contextlib.nullcontext():
            for w in self._t:
                x = self._layer(w, x, bias).astype(np.float32, copy=False)
                out.append(x)
        return out


def prune_graphs(directory: Path, *, keep: int, current: Path, stale_tmp: float = 3600.0) -> list[Path]:
    """Delete all but the ``keep`` most recently used tuned graphs (``current`` always stays), and
    export leftovers of crashed processes. Each retrained model exports a new graph; without this
    every retraining left ~90 MB behind. Deleting a graph another process still uses is harmless:
    ONNX Runtime read it when the session was created, and a classifier whose graph is gone
    re-exports it from the layers in its pickle (``graph``)."""
    def mtime(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except FileNotFoundError:  # another process pruned it first
            return 0.0

    graphs = sorted((p for p in directory.glob("bot-tuned-*.onnx") if p != current), key=mtime, reverse=True)
    old = graphs[max(0, keep - 1):]
    old += [p for p in directory.glob("bot-tuned-*.onnx.*.tmp") if time.time() - mtime(p) > stale_tmp]
    for path in old:
        path.unlink(missing_ok=True)
    if old:
        log.info("pruned tuned encoder graphs", extra={"removed": [p.name for p in old]})
    return old


_controller: Any = None


def _one_thread() -> Any:
    global _controller
    if _controller is None:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller.limit(limits=1, user_api="blas")


def fine_tune(states: list[np.ndarray], intents: list[str], *, epochs: int = 3, lr: float = 1e-4,
              batch_size: int = 32, seed: int = 0) -> TopLayers:
    """Train the encoder's last two layers (+ a linear head, dropped afterwards) on per-token
    hidden states ``BASE`` of the training texts. torch is imported only here (training)."""
    import copy

    import torch
    from torch import nn
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    from knowledge_base.search.encoder import model_dir

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    full = AutoModel.from_pretrained(str(model_dir()), attn_implementation="eager")
    top = nn.ModuleList([copy.deepcopy(layer) for layer in full.encoder.layer[BASE:]])
    del full
    labels = sorted(set(intents))
    y = torch.tensor([labels.index(i) for i in intents])
    head = nn.Linear(top[0].output.dense.out_features, len(labels))
    order = sorted(range(len(states)), key=lambda i: len(states[i]))  # batches of similar length
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    optimizer = torch.optim.AdamW([{"params": top.parameters(), "lr": lr},
                                   {"params": head.parameters(), "lr": 2e-3}], weight_decay=0.01)
    total = max(1, epochs * len(batches))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / total))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    top.train()
    for _ in range(epochs):
        rng.shuffle(batches)
        for rows in batches:
            width = max(len(states[i]) for i in rows)
            x = torch.zeros(len(rows), width, states[rows[0]].shape[1])
            mask = torch.zeros(len(rows), width)
            for r, i in enumerate(rows):
                x[r, :len(states[i])] = torch.from_numpy(np.asarray(states[i], dtype=np.float32))
                mask[r, :len(states[i])] = 1
            bias = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min
            for layer in top:
                x = layer(x, attention_mask=bias)
                x = x[0] if isinstance(x, tuple) else x
            mean = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            loss = loss_fn(head(mean), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    top.eval()
    return TopLayers.from_torch(top)
