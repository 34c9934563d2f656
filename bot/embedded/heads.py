"""The intent classifier's two heads, trained with torch (imported only to train) and scored in
numpy at parse time:

- ``Linear``: multinomial logistic regression over the sentence embedding and the TF-IDF n-grams,
  scikit-learn's objective (``C`` × summed cross-entropy + ½‖W‖², the bias not penalized),
  minimized with full-batch L-BFGS. Not scikit-learn's solver because that one holds the dense
  embedding block as a sparse float64 matrix: ~1 s per iteration on HWU64 against ~0.2 s here,
  and the same accuracy (HWU64, a validation fold of its training set: 92.07 % both).
- ``Mlp``: one hidden layer over the sentence embedding alone, a second opinion of a different
  shape; the classifier averages the two heads' probabilities.

Chosen on HWU64 cross-validation folds of its training set (BENCHMARKS.md, 2026-11-26): the
average of the two heads beat the logistic regression alone by 0.1–0.2 points on folds it was not
chosen on; nothing else tried (more layers, max pooling, other n-gram ranges, weights, class
weights, kNN) did.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse


def softmax(scores: np.ndarray) -> np.ndarray:
    z = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


@dataclass
class Linear:
    """``coef_`` is (intents, embedding + n-gram columns), the layout of ``Featurizer.transform``;
    the attribute names are scikit-learn's, so the parse path reads either."""

    coef_: np.ndarray
    intercept_: np.ndarray
    classes_: np.ndarray

    def predict_proba(self, x: sparse.spmatrix | np.ndarray) -> np.ndarray:
        return softmax(np.asarray(x @ self.coef_.T) + self.intercept_)


def fit_linear(dense: np.ndarray, grams: sparse.csr_matrix, intents: list[str], *, c: float,
               max_iter: int = 60) -> Linear:
    import torch

    classes, y = np.unique(np.asarray(intents), return_inverse=True)
    x = torch.from_numpy(np.ascontiguousarray(dense, dtype=np.float32))
    coo = grams.tocoo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta": products only
        s = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data.astype(np.float32), coo.shape,
                                    check_invariants=False).to_sparse_csr()
    target = torch.from_numpy(y)
    w_dense = torch.zeros(dense.shape[1], len(classes), requires_grad=True)
    w_grams = torch.zeros(grams.shape[1], len(classes), requires_grad=True)
    bias = torch.zeros(len(classes), requires_grad=True)
    optimizer = torch.optim.LBFGS([w_dense, w_grams, bias], lr=1, max_iter=max_iter, tolerance_grad=1e-5,
                                  tolerance_change=1e-9, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        scores = x @ w_dense + s @ w_grams + bias
        loss = c * torch.nn.functional.cross_entropy(scores, target, reduction="sum") \
            + 0.5 * ((w_dense ** 2).sum() + (w_grams ** 2).sum())
        loss.backward()
        return loss

    optimizer.step(closure)
    coef = torch.cat([w_dense, w_grams]).detach().numpy().T
    return Linear(np.ascontiguousarray(coef, dtype=np.float64), bias.detach().numpy().astype(np.float64),
                  classes)


@dataclass
class Mlp:
    w1: np.ndarray  # (embedding, hidden)
    b1: np.ndarray
    w2: np.ndarray  # (hidden, intents), columns in the linear head's class order
    b2: np.ndarray

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        h = embeddings @ self.w1 + self.b1
        h = 0.5 * h * (1.0 + _erf(h / np.float32(np.sqrt(2.0))))  # exact GELU, as torch's
        return softmax(h @ self.w2 + self.b2)


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return erf(x)


def fit_mlp(embeddings: np.ndarray, intents: list[str], classes: np.ndarray, *, hidden: int = 1024,
            epochs: int = 20, dropout: float = 0.3, seed: int = 0) -> Mlp:
    """AdamW with a one-cycle schedule, dropout on the input and hidden layer, label smoothing 0.1:
    a small net on 10,000 examples overfits without them."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    index = {label: i for i, label in enumerate(classes)}
    x = torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32))
    y = torch.tensor([index[i] for i in intents])
    net = nn.Sequential(nn.Dropout(dropout), nn.Linear(x.shape[1], hidden), nn.GELU(), nn.Dropout(dropout),
                        nn.Linear(hidden, len(classes)))
    batch = 64
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=epochs * -(-len(y) // batch))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    for _ in range(epochs):
        order = torch.randperm(len(y))
        for start in range(0, len(y), batch):
            rows = order[start:start + batch]
            optimizer.zero_grad()
            loss_fn(net(x[rows]), y[rows]).backward()
            optimizer.step()
            schedule.step()
    first, last = net[1], net[4]
    return Mlp(first.weight.detach().numpy().T.copy(), first.bias.detach().numpy().copy(),
               last.weight.detach().numpy().T.copy(), last.bias.detach().numpy().copy())
