"""The fine-tuned encoder: untrained, its exported graph is the frozen encoder; fine-tuning on a
few intents moves its sentence vectors toward separating them; the classifier averages a head on it
with the frozen one; graphs are exported once and pruned."""

from __future__ import annotations

import numpy as np
import pytest

from bot.embedded.features import Encoder
from bot.embedded.tuning import TunedLayers, fine_tune


@pytest.fixture(scope="module")
def pretrained() -> tuple[object, TunedLayers]:
    from transformers import AutoModel

    from knowledge_base.search.encoder import model_dir

    model = AutoModel.from_pretrained(str(model_dir()), attn_implementation="eager").eval()
    return model, TunedLayers.from_torch(model.encoder.layer)


def test_untrained_layers_give_the_frozen_encoder(pretrained) -> None:
    texts = ["where is my refund for BE-12345?", "hi", "can I talk to a person about a very late payout"]
    assert len(pretrained[1].layers) == 6
    assert np.abs(Encoder(pretrained[1]).encode(texts) - Encoder().encode(texts)).max() < 1e-3


def test_fine_tuning_separates_the_intents_it_is_trained_on() -> None:
    texts = ["i want my money back", "refund my deposit please", "how do i get a refund",
             "where is my booking", "has my booking been confirmed", "status of my booking"] * 2
    intents = (["refund"] * 3 + ["status"] * 3) * 2
    frozen, tuned = Encoder(), Encoder(fine_tune(texts, intents, epochs=3, lr=5e-4))

    def margin(vectors: np.ndarray) -> float:  # mean cosine within intents minus across them
        sims = vectors @ vectors.T / 3
        same = np.array([[a == b for b in intents] for a in intents])
        return float(sims[same].mean() - sims[~same].mean())

    assert margin(tuned.encode(texts)) > margin(frozen.encode(texts)) + 0.02  # measured: 0.12 → 0.17


async def test_engine_answers_with_the_frozen_classifier_until_the_tuned_one_is_trained(tmp_path,
                                                                                       monkeypatch) -> None:
    from bot import factory

    data = tmp_path / "nlu.yml"
    data.write_text('version: "3.1"\nnlu:\n' + "".join(
        f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {t}\n" for t in texts)
        for intent, texts in {
            "refund": ["i want my money back", "refund my deposit please", "how do i get a refund",
                       "can i have a refund", "refund the booking", "give me my money back"],
            "status": ["where is my booking", "has my booking been confirmed", "status of my booking",
                       "is my booking confirmed", "booking status please", "check my booking"],
        }.items()))
    monkeypatch.setattr(factory, "DATA", data)
    monkeypatch.setattr(factory, "_classifiers", {})
    engine = await factory.build("embedded", cache_dir=tmp_path, rasa_url="", search=None, rasa_timeout=1,
                                 tune_epochs=1)
    assert not engine.classifier.tuned  # the frozen one answers meanwhile
    assert engine.classifier.parse("i want a refund").ranking[0][0] == "refund"
    assert engine.background is not None
    await engine.background
    assert engine.classifier.tuned and engine.classifier.heads[1].featurizer.encoder.tuned is not None
    assert engine.classifier.parse("i want a refund").ranking[0][0] == "refund"
    # next start (a new process): the tuned model is loaded from the cache, no fallback
    monkeypatch.setattr(factory, "_classifiers", {})
    again = await factory.build("embedded", cache_dir=tmp_path, rasa_url="", search=None, rasa_timeout=1,
                                tune_epochs=1)
    assert again.background is None and again.classifier.tuned
    assert again.classifier.parse("where is my booking").ranking[0][0] == "status"


def _graphs(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_pruning_keeps_the_current_and_most_recently_used_graphs_only(tmp_path) -> None:
    import os
    import time

    from bot.embedded.cache import prune

    now = time.time()
    for i, name in enumerate(f"bot-tuned-{x}.onnx" for x in "abcd"):
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (now - 1000 * (i + 1),) * 2)  # a used most recently, d longest ago
    (tmp_path / "bot-tuned-new.onnx").write_bytes(b"x")
    os.utime(tmp_path / "bot-tuned-new.onnx", (now - 10_000,) * 2)  # current: kept whatever its age
    (tmp_path / "all-minilm-l6-v2-0123.onnx").write_bytes(b"x")  # the shared encoder: not ours
    (tmp_path / "bot-tuned-e.onnx.123.456.tmp").write_bytes(b"x")  # a crashed export
    os.utime(tmp_path / "bot-tuned-e.onnx.123.456.tmp", (now - 7200,) * 2)
    (tmp_path / "bot-tuned-f.onnx.124.457.tmp").write_bytes(b"x")  # an export running right now

    removed = prune(tmp_path, "bot-tuned-*.onnx", keep=3, current=tmp_path / "bot-tuned-new.onnx")

    assert sorted(p.name for p in removed) == ["bot-tuned-c.onnx", "bot-tuned-d.onnx",
                                               "bot-tuned-e.onnx.123.456.tmp"]
    assert _graphs(tmp_path) == ["all-minilm-l6-v2-0123.onnx", "bot-tuned-a.onnx", "bot-tuned-b.onnx",
                                 "bot-tuned-f.onnx.124.457.tmp", "bot-tuned-new.onnx"]
    # idempotent
    assert prune(tmp_path, "bot-tuned-*.onnx", keep=3, current=tmp_path / "bot-tuned-new.onnx") == []


def test_a_new_tuned_graph_prunes_old_ones_and_a_pruned_one_is_exported_again(pretrained, tmp_path,
                                                                               monkeypatch) -> None:
    import os

    from bot.embedded import tuning

    monkeypatch.setenv("BERRY_MODEL_CACHE", str(tmp_path))
    for i in range(tuning.KEEP_GRAPHS + 2):  # older models' graphs, oldest last
        (tmp_path / f"bot-tuned-old{i}.onnx").write_bytes(b"x")
        os.utime(tmp_path / f"bot-tuned-old{i}.onnx", (1_000_000 - i,) * 2)
    graph = pretrained[1].graph()
    assert graph.parent == tmp_path and graph.stat().st_size > 10_000_000
    kept = [f"bot-tuned-old{i}.onnx" for i in range(tuning.KEEP_GRAPHS - 1)]
    assert _graphs(tmp_path) == sorted([graph.name, *kept])
    graph.unlink()  # pruned by another process: the classifier's layers re-export it
    assert pretrained[1].graph() == graph and graph.exists()
    (tmp_path / "bot-tuned-older.onnx").write_bytes(b"x")  # left by an older version, say
    os.utime(tmp_path / "bot-tuned-older.onnx", (1,) * 2)
    pretrained[1].graph()  # loading an existing graph prunes too
    assert _graphs(tmp_path) == sorted([graph.name, *kept])
    texts = ["where is my refund?", "hi"]
    assert np.abs(Encoder(pretrained[1]).encode(texts) - Encoder().encode(texts)).max() < 1e-3


def test_fine_tuning_stops_within_a_batch_when_asked() -> None:
    import threading
    import time

    from bot.embedded.tuning import Cancelled

    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.perf_counter()
    with pytest.raises(Cancelled):  # 2,000 epochs of one batch: minutes if it did not stop
        fine_tune(["refund please", "where is my booking"], ["refund", "status"], epochs=2000, stop=stop)
    assert time.perf_counter() - started < 30


async def test_closing_the_engine_stops_its_background_training(tmp_path, monkeypatch) -> None:
    import time

    from bot import factory

    data = tmp_path / "nlu.yml"
    data.write_text('version: "3.1"\nnlu:\n- intent: refund\n  examples: |\n    - refund please\n'
                    '    - i want my money back\n- intent: status\n  examples: |\n    - where is my booking\n'
                    '    - booking status\n')
    monkeypatch.setattr(factory, "DATA", data)
    monkeypatch.setattr(factory, "_classifiers", {})
    engine = await factory.build("embedded", cache_dir=tmp_path, rasa_url="", search=None, rasa_timeout=1,
                                 tune_epochs=5000)  # an hour of training if nothing stopped it
    assert engine.background is not None and not engine.background.done()
    started = time.perf_counter()
    await engine.close()
    assert engine.background.done() and time.perf_counter() - started < 30
    assert not engine.classifier.tuned  # the frozen classifier stays; nothing half-trained is cached
    assert not list((tmp_path / "bot-models").glob("*.pkl.*.tmp"))
    assert len(list((tmp_path / "bot-models").glob("*.pkl"))) == 1
