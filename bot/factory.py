"""Build the configured engine once per process (the classifier is trained or loaded from the cache
on first use, in a thread, so start-up never waits for it)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from bot.engine import BotEngine

log = logging.getLogger(__name__)
DATA = Path(__file__).resolve().parent / "rasa" / "data"
_classifiers: dict[Path, Any] = {}


def project_classifier(cache_dir: Path, data: Path = DATA) -> Any:
    """The embedded engine's classifier for the project's own NLU data (cached on disk by a hash)."""
    from bot import nlu_data
    from bot.embedded.classifier import IntentClassifier

    if data not in _classifiers:
        _classifiers[data] = IntentClassifier.train(nlu_data.load(data), cache_dir=cache_dir / "bot-models")
    return _classifiers[data]


async def build(kind: str, *, cache_dir: Path, rasa_url: str, search: Any, rasa_timeout: float) -> BotEngine:
    if kind == "rasa":
        from bot.rasa_engine import RasaEngine

        return RasaEngine(rasa_url, timeout=rasa_timeout)
    if kind == "embedded":
        from bot.embedded.engine import EmbeddedEngine

        # the encoder is ONNX Runtime's (threads: BERRY_ENCODER_THREADS, read by knowledge_base's
        # encoder when its session loads); no torch threads to set
        classifier = await asyncio.to_thread(project_classifier, cache_dir)
        return EmbeddedEngine(classifier, search)
    raise ValueError(f"unknown bot engine {kind!r}")
