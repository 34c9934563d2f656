"""Build the configured engine once per process (the classifier is trained or loaded from the cache
on first use, in a thread, so start-up never waits for it)."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from bot.engine import BotEngine

log = logging.getLogger(__name__)
DATA = Path(__file__).resolve().parent / "rasa" / "data"
_classifiers: dict[tuple[Path, int], Any] = {}


def project_classifier(cache_dir: Path, data: Path | None = None, tune_epochs: int = 0,
                       stop: threading.Event | None = None) -> Any:
    """The embedded engine's classifier for the project's own NLU data (cached on disk by a hash)."""
    from bot import nlu_data
    from bot.embedded.classifier import IntentClassifier

    data = data or DATA

    if (data, tune_epochs) not in _classifiers:
        _classifiers[data, tune_epochs] = IntentClassifier.train(
            nlu_data.load(data), cache_dir=cache_dir / "bot-models", tune_epochs=tune_epochs, stop=stop)
    return _classifiers[data, tune_epochs]


def _ready(cache_dir: Path, tune_epochs: int) -> bool:
    from bot import nlu_data
    from bot.embedded.classifier import IntentClassifier

    data = DATA

    return (data, tune_epochs) in _classifiers or IntentClassifier.cache_path(
        nlu_data.load(data), cache_dir / "bot-models", tune_epochs=tune_epochs).exists()


async def build(kind: str, *, cache_dir: Path, rasa_url: str, search: Any, rasa_timeout: float,
                tune_epochs: int = 0) -> BotEngine:
    if kind == "rasa":
        from bot.rasa_engine import RasaEngine

        return RasaEngine(rasa_url, timeout=rasa_timeout)
    if kind == "embedded":
        from bot.embedded.engine import EmbeddedEngine

        # the encoder is ONNX Runtime's (threads: BERRY_ENCODER_THREADS, read by knowledge_base's
        # encoder when its session loads); no torch threads to set
        if not tune_epochs or await asyncio.to_thread(_ready, cache_dir, tune_epochs):
            classifier = await asyncio.to_thread(project_classifier, cache_dir, DATA, tune_epochs)
            return EmbeddedEngine(classifier, search)
        # not trained yet (new training data): answer with the frozen encoder's classifier (seconds
        # to train) while the encoder is fine-tuned in the background, then switch
        engine = EmbeddedEngine(await asyncio.to_thread(project_classifier, cache_dir), search)

        async def upgrade() -> None:
            from bot.embedded.tuning import Cancelled

            try:
                engine.classifier = await asyncio.to_thread(project_classifier, cache_dir, DATA, tune_epochs,
                                                            engine.stop_training)
                log.info("bot classifier switched to the fine-tuned encoder")
            except Cancelled:
                log.info("fine-tuning the bot's encoder stopped: shutting down")
            except Exception:
                log.exception("fine-tuning the bot's encoder failed; the frozen encoder's classifier stays")

        engine.background = asyncio.create_task(upgrade())
        return engine
    raise ValueError(f"unknown bot engine {kind!r}")
