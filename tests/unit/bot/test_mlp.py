"""The MLP intent head: trained with torch, parsed with numpy; the two must agree, and the
classifier uses it only when the data is large enough (classifier.MLP_MIN_PER_INTENT)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bot.embedded.classifier import MLP_MIN_PER_INTENT, _wants_mlp
from bot.embedded.mlp import MLPHead
from bot.nlu_data import Example


def clusters(n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    """Three intents, each a noisy cloud around its own direction in 48 dimensions."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 48))
    labels = rng.integers(0, 3, size=n)
    x = centres[labels] + rng.normal(scale=0.8, size=(n, 48))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), [f"i{k}" for k in labels]


def test_it_learns_intents_it_was_not_shown_the_answers_to() -> None:
    x, y = clusters(300, seed=1)
    head = MLPHead.fit(x, y, ["i0", "i1", "i2"], hidden=64, min_steps=100)
    more_x, more_y = clusters(500, seed=1)  # the same centres (same seed), 200 more rows
    test_x, test_y = more_x[300:], more_y[300:]  # rows the head never saw
    predicted = [head.labels[i] for i in head.probs(test_x).argmax(axis=1)]
    assert np.mean([p == t for p, t in zip(predicted, test_y, strict=True)]) > 0.9


def test_numpy_parse_is_torchs_forward_pass_one_row_or_many() -> None:
    x, y = clusters(120, seed=2)
    head = MLPHead.fit(x, y, ["i2", "i0", "i1"], hidden=32, min_steps=20)
    net = nn.Sequential(nn.Linear(48, 32), nn.GELU(), nn.Linear(32, 3))
    with torch.no_grad():
        for layer, (w, b) in zip((net[0], net[2]), ((head.w1, head.b1), (head.w2, head.b2)), strict=True):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
        expected = torch.softmax(net(torch.from_numpy(x[:10])), dim=1).numpy()
    np.testing.assert_allclose(head.probs(x[:10]), expected, atol=1e-5)
    for i in range(3):  # the one-message path (einsum) gives the same row as the batch path
        np.testing.assert_allclose(head.probs(x[i:i + 1])[0], expected[i], atol=1e-5)
    assert head.labels == ["i2", "i0", "i1"]  # columns in the order asked for (the regression's)


def test_the_classifier_adds_the_head_only_for_data_large_enough_for_it() -> None:
    def data(per_intent: int) -> list[Example]:
        return [Example(f"text {i}", intent) for intent in ("a", "b") for i in range(per_intent)]

    assert not _wants_mlp(data(MLP_MIN_PER_INTENT - 1), None)
    assert _wants_mlp(data(MLP_MIN_PER_INTENT), None)
    assert _wants_mlp(data(3), True) and not _wants_mlp(data(MLP_MIN_PER_INTENT), False)
