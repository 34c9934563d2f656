"""A small neural intent head beside the logistic regression: one hidden layer over the encoder's
*wide* view (features.Encoder.encode: every layer mean-pooled, the last max-pooled and its first
token, each unit length), trained with dropout and label smoothing; the classifier averages its
probabilities with the regression's.

Why: the regression sees the upper layers linearly and the exact words; this head sees all the
layers non-linearly. They err on different examples. HWU64, 5-fold CV on the training set only:
regression 92.33 %, this head alone 92.13 %, the two averaged 92.69 % (BENCHMARKS.md, session 17;
richer inputs for the regression alone — more layers, max or first-token pooling — did not help:
92.14–92.26 %).

Trained with torch (imported only here, as tuning.py does); parsed with numpy: the weights are
plain arrays, so a parse needs no torch.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy.special import erf

log = logging.getLogger(__name__)


class MLPHead:
    def __init__(self, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray,
                 labels: list[str]) -> None:
        self.w1, self.b1, self.w2, self.b2 = w1, b1, w2, b2  # torch's layout: (outputs, inputs)
        self.labels = labels

    @classmethod
    def fit(cls, x: np.ndarray, intents: list[str], labels: list[str], *, hidden: int = 1024,
            epochs: int = 20, min_steps: int = 600, batch_size: int = 64, seed: int = 0) -> MLPHead:
        """``labels``: the output order (the regression's classes, so the two average column by
        column). Small data gets more epochs (at least ``min_steps`` batches): 20 epochs of a few
        hundred examples are too few steps to fit."""
        import torch
        from torch import nn

        started = time.perf_counter()
        torch.manual_seed(seed)
        index = {label: i for i, label in enumerate(labels)}
        xs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        ys = torch.tensor([index[i] for i in intents])
        first, second = nn.Linear(xs.shape[1], hidden), nn.Linear(hidden, len(labels))
        net = nn.Sequential(nn.Dropout(0.1), first, nn.GELU(), nn.Dropout(0.3), second)
        per_epoch = -(-len(xs) // batch_size)
        epochs = max(epochs, -(-min_steps // per_epoch))
        optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=epochs * per_epoch)
        loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
        shuffle = torch.Generator().manual_seed(seed)
        net.train()
        for _ in range(epochs):
            for rows in torch.randperm(len(xs), generator=shuffle).split(batch_size):
                loss = loss_fn(net(xs[rows]), ys[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
        log.info("intent MLP trained", extra={"examples": len(xs), "epochs": epochs,
                                              "seconds": round(time.perf_counter() - started, 1)})
        w1, b1, w2, b2 = (t.detach().numpy().copy()
                          for t in (first.weight, first.bias, second.weight, second.bias))
        return cls(w1, b1, w2, b2, list(labels))

    def probs(self, x: np.ndarray) -> np.ndarray:
        # one message (the parse path): einsum, not OpenBLAS's spinning threads (cosines)
        h = np.einsum("hj,j->h", self.w1, x[0])[None] + self.b1 if len(x) == 1 else x @ self.w1.T + self.b1
        h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))  # torch's exact GELU
        scores = np.einsum("ch,nh->nc", self.w2, h) + self.b2
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        return scores / scores.sum(axis=1, keepdims=True)
