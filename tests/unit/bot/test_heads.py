"""The classifier's heads: the L-BFGS logistic regression finds scikit-learn's optimum, the MLP
scores in numpy what it learned in torch, and the one-message parse path averages both heads as
the batch path does."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from bot.embedded.heads import Mlp, fit_linear, fit_mlp

INTENTS = ["cancel", "refund", "greet", "status"]


def _data(n: int = 160, seed: int = 3) -> tuple[np.ndarray, sparse.csr_matrix, list[str]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(INTENTS), n)
    centres = rng.normal(size=(len(INTENTS), 16))
    dense = (centres[y] + rng.normal(scale=1.5, size=(n, 16))).astype(np.float32)
    grams = sparse.random(n, 40, density=0.1, random_state=seed, format="csr", dtype=np.float32)
    return dense, grams, [INTENTS[i] for i in y]


def test_linear_head_reaches_scikit_learns_optimum() -> None:
    from sklearn.linear_model import LogisticRegression

    dense, grams, intents = _data()
    mine = fit_linear(dense, grams, intents, c=3.0, max_iter=200)
    x = sparse.hstack([sparse.csr_matrix(dense), grams], format="csr")
    ref = LogisticRegression(C=3.0, max_iter=5000, tol=1e-8).fit(x, intents)
    assert list(mine.classes_) == list(ref.classes_)
    assert np.abs(mine.predict_proba(x) - ref.predict_proba(x)).max() < 1e-3
    assert mine.coef_.shape == ref.coef_.shape  # the layout the one-message path reads


def test_mlp_scores_in_numpy_what_torch_computes() -> None:
    import torch

    dense, _, intents = _data()
    classes = np.array(sorted(set(intents)))
    mlp = fit_mlp(dense, intents, classes, hidden=32, epochs=30)
    net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.GELU(), torch.nn.Linear(32, len(classes)))
    with torch.no_grad():
        for layer, w, b in ((net[0], mlp.w1, mlp.b1), (net[2], mlp.w2, mlp.b2)):
            layer.weight.copy_(torch.from_numpy(w.T))
            layer.bias.copy_(torch.from_numpy(b))
        expected = torch.softmax(net(torch.from_numpy(dense)), dim=1).numpy()
    assert np.abs(mlp.predict_proba(dense) - expected).max() < 1e-5
    accuracy = np.mean(classes[mlp.predict_proba(dense).argmax(1)] == np.array(intents))
    assert accuracy > 0.8  # it learned the classes (chance: 0.25)


def test_mlp_is_deterministic() -> None:
    dense, _, intents = _data()
    classes = np.array(sorted(set(intents)))
    a, b = (fit_mlp(dense, intents, classes, hidden=16, epochs=3) for _ in range(2))
    assert np.array_equal(a.w1, b.w1) and np.array_equal(a.w2, b.w2)


def test_the_one_message_path_averages_both_heads_like_the_batch_path() -> None:
    from bot.embedded.classifier import IntentClassifier
    from bot.embedded.features import Featurizer

    texts = ["I want to cancel my booking", "cancel the booking please", "where is my refund",
             "when will my refund arrive", "hello there", "hi", "is my booking confirmed",
             "status of my booking"] * 3
    intents = ["cancel", "cancel", "refund", "refund", "greet", "greet", "status", "status"] * 3
    emb = np.random.default_rng(1).normal(size=(len(texts), 8)).astype(np.float32)
    feats = Featurizer(encoder=None)  # type: ignore[arg-type]  # embeddings are given
    feats.fit(texts)
    model = fit_linear(emb * feats.embedding_weight, feats.grams(texts), intents, c=10.0)
    mlp = fit_mlp(emb, intents, model.classes_, hidden=16, epochs=5)
    clf = IntentClassifier(feats, model, list(model.classes_), threshold=0.0, mlp=mlp)
    for i, text in enumerate(["cancel the booking please", "my refnd?", "zxq vlorp", "hi"]):
        row = emb[i:i + 1]
        [fast] = clf.parse_embedded([text], row)
        [slow] = clf.parse_embedded([text, text], np.vstack([row, row]))[:1]
        linear = model.predict_proba(feats.transform([text], row))[0]
        expected = (linear + mlp.predict_proba(row)[0]) / 2
        assert fast.ranking[0] == (model.classes_[expected.argmax()], pytest.approx(expected.max(), abs=1e-4))
        assert [c for _, c in fast.ranking] == pytest.approx([c for _, c in slow.ranking], abs=1e-4)
        assert isinstance(clf.mlp, Mlp)
