"""The classifier cache on disk: retrained models do not pile up; the ones in use stay."""

from __future__ import annotations

import os
from pathlib import Path

from bot.embedded.classifier import KEEP_MODELS, IntentClassifier
from bot.nlu_data import Example


def test_the_model_cache_keeps_the_most_recently_used_classifiers(tmp_path) -> None:
    def data(i: int) -> list[Example]:  # a different training set each time: a new cache file
        return [Example(f"refund {i}", "refund"), Example("refund please", "refund"),
                Example(f"booking {i}", "status"), Example("my booking", "status")]

    def train(i: int) -> Path:
        IntentClassifier.train(data(i), cache_dir=tmp_path)
        return IntentClassifier.cache_path(data(i), tmp_path)

    for i in range(KEEP_MODELS + 2):
        os.utime(train(i), (1_000_000 + i,) * 2)  # distinct ages, the newest last
    kept = sorted(tmp_path.iterdir())
    assert kept == sorted(IntentClassifier.cache_path(data(i), tmp_path) for i in range(2, KEEP_MODELS + 2))
    train(2)  # the oldest one loaded again (a cache hit): now the most recently used
    train(KEEP_MODELS + 2)
    assert IntentClassifier.cache_path(data(2), tmp_path).exists()
    assert not IntentClassifier.cache_path(data(3), tmp_path).exists()
    assert len(list(tmp_path.iterdir())) == KEEP_MODELS
