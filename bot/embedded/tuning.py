"""Fine-tune the sentence encoder on the training intents.

All six transformer layers of all-MiniLM-L6-v2 are trained (the token embeddings stay frozen: a few
thousand examples would only move the rows of the words they happen to contain), with a linear
intent head on the mean-pooled last layer: cross-entropy with label smoothing, AdamW, 10 % warm-up
then linear decay, batches of similar length. The head is dropped afterwards; the classifier reads
the tuned encoder's hidden states 4–6 mean-pooled, as it reads the frozen encoder's, and puts the
same n-grams and logistic regression on top (classifier.py averages the two views).

Why all six layers and 2 epochs at 1e-4: chosen on HWU64's training set only (5-fold CV;
BENCHMARKS.md, session 7, with its caveat: re-checked with the shipped code the gain is ~0.2
points). Training the top two layers alone (session 4) was cheaper but its gain did not carry to
the test set.

At parse time the tuned encoder runs as its own ONNX graph (``TunedLayers.graph``, exported once
and cached by a digest of the weights). One pass costs what the frozen encoder's does, but the two
alternating cost more than twice one (each evicts the other's weights from the caches).
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from .cache import prune

log = logging.getLogger(__name__)
KEEP_GRAPHS = 3  # tuned encoder graphs (~90 MB each) kept in the model cache, most recently used first


class Cancelled(Exception):
    """Fine-tuning was stopped (``fine_tune(stop=...)``): the hub is shutting down."""


class TunedLayers:
    """The six tuned transformer layers' weights (transformers' state_dict names): what is pickled
    with the classifier."""

    def __init__(self, layers: list[dict[str, np.ndarray]]) -> None:
        self.layers = layers

    def graph(self) -> Path:
        """The whole encoder with these layers as an ONNX graph (the shared model's outputs, hidden
        states 4-6), exported on first use and cached by a digest of the weights."""
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
            prune(target.parent, "bot-tuned-*.onnx", keep=KEEP_GRAPHS, current=target)
        return target

    def _patch(self, model: Any) -> None:
        import torch

        for layer, w in zip(model.encoder.layer, self.layers, strict=True):
            layer.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in w.items()})

    @classmethod
    def from_torch(cls, modules: Any) -> TunedLayers:
        return cls([{k: v.detach().cpu().numpy().astype(np.float32) for k, v in m.state_dict().items()}
                    for m in modules])


def fine_tune(texts: list[str], intents: list[str], *, epochs: int = 2, lr: float = 1e-4,
              batch_size: int = 32, seed: int = 0, max_length: int = 64,
              progress: bool = False, stop: threading.Event | None = None) -> TunedLayers:
    """Train the encoder's layers (+ a linear head, dropped afterwards) to tell ``intents`` apart.
    ``stop`` set: raise ``Cancelled`` before the next batch (a thread cannot be killed, and a hub
    stopping must not wait minutes for a training nobody will use). torch is imported only here."""
    import torch
    from torch import nn
    from tqdm import tqdm
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from knowledge_base.search.encoder import model_dir

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(seed)
    rng = random.Random(seed)
    started = time.perf_counter()
    tokens = AutoTokenizer.from_pretrained(str(model_dir()))([t[:1000] for t in texts], truncation=True,
                                                             max_length=max_length)["input_ids"]
    model = AutoModel.from_pretrained(str(model_dir()), attn_implementation="eager")
    model.embeddings.requires_grad_(False)
    labels = sorted(set(intents))
    y = torch.tensor([labels.index(i) for i in intents])
    head = nn.Linear(model.config.hidden_size, len(labels))
    order = sorted(range(len(texts)), key=lambda i: len(tokens[i]))  # batches of similar length
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    optimizer = torch.optim.AdamW([{"params": model.encoder.parameters(), "lr": lr},
                                   {"params": head.parameters(), "lr": 2e-3}], weight_decay=0.01)
    total = max(1, epochs * len(batches))
    warm = max(1, total // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (total - step) / max(1, total - warm))))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    model.train()
    with tqdm(total=total, desc="fine-tuning the encoder", unit="batch", disable=not progress) as bar:
        for _ in range(epochs):
            rng.shuffle(batches)
            for rows in batches:
                if stop is not None and stop.is_set():
                    raise Cancelled("fine-tuning stopped")
                width = max(len(tokens[i]) for i in rows)
                ids = torch.zeros(len(rows), width, dtype=torch.long)
                mask = torch.zeros(len(rows), width, dtype=torch.long)
                for r, i in enumerate(rows):
                    ids[r, :len(tokens[i])] = torch.tensor(tokens[i])
                    mask[r, :len(tokens[i])] = 1
                states = model(input_ids=ids, attention_mask=mask).last_hidden_state
                mean = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
                loss = loss_fn(head(mean), y[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                bar.update()
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    model.eval()
    log.info("encoder fine-tuned", extra={"examples": len(texts), "intents": len(labels), "epochs": epochs,
                                          "seconds": round(time.perf_counter() - started, 1)})
    return TunedLayers.from_torch(model.encoder.layer)
