"""The ONNX Runtime MiniLM: the same vectors as the torch model it was exported from (so vectors
already on disk stay valid), exported offline and atomically, and shared with the bot."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.search.encoder import DIMENSIONS, Encoder, export_onnx, model_dir, onnx_path

TEXTS = [
    "when do I get my money back",
    "refnd",
    "A long article body about refunds and deposits in Cape Town. " * 80,  # past 256 tokens
    "",
    "émigré façade — Umkhokheli wezinsizakalo 日本語 🙃",
]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir()), device="cpu")
    return np.asarray(model.encode(TEXTS, normalize_embeddings=True, show_progress_bar=False))


async def test_onnx_vectors_equal_the_torch_model(encoder: Encoder, torch_vectors: np.ndarray) -> None:
    batched = await encoder.encode(TEXTS)  # padded to the longest, truncated at 256 tokens
    single = np.vstack([await encoder.encode([t]) for t in TEXTS])
    assert batched.shape == (len(TEXTS), DIMENSIONS) and batched.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(batched * torch_vectors, axis=1)) > 0.9999
    assert np.min(np.sum(single * batched, axis=1)) > 0.9999  # padding does not leak into the mean
    assert await encoder.encode([]) is not None and (await encoder.encode([])).shape == (0, DIMENSIONS)


async def test_bot_features_share_the_process_encoder(encoder: Encoder) -> None:
    from bot.embedded.encoder import MiniLM
    from bot.embedded.features import Encoder as BotEncoder
    from bot.embedded.features import sentence

    bot = BotEncoder()
    assert bot.net is encoder  # one model in memory
    import torch

    reference = MiniLM()  # the torch path the bot's classifier was built with
    with torch.inference_mode():
        expected = torch.nn.functional.normalize(reference.embed(TEXTS[:3], bot.LAYERS), dim=-1).numpy()
    wide = await asyncio.to_thread(bot.encode, TEXTS[:3])  # the MLP head's view; the sentence vector in it
    assert wide.shape == (3, bot.wide_dim) == (3, 8 * DIMENSIONS)
    np.testing.assert_allclose(sentence(wide), expected, atol=1e-4)
    np.testing.assert_allclose(sentence(bot.encode(TEXTS[:1])), expected[:1], atol=1e-4)  # the parse path


async def test_query_cache_returns_the_same_read_only_vector(encoder: Encoder) -> None:
    first = await encoder.encode_query("  Where is my REFUND  ")
    second = await encoder.encode_query("where is my refund")
    assert first is second and not second.flags.writeable


def test_export_is_atomic_idempotent_and_keyed_by_the_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "minilm.onnx"
    # two callers at once: both get the one complete file, no temp file left behind
    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(export_onnx, [target, target])) == [target, target]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["minilm.onnx"]
    stamp = target.stat().st_mtime_ns
    assert export_onnx(target) == target and target.stat().st_mtime_ns == stamp  # not redone
    fresh = Encoder(target)
    vector = fresh.encode_sync(["how do I cancel"])
    expected = Encoder(onnx_path()).encode_sync(["how do I cancel"])
    np.testing.assert_allclose(vector, expected, atol=1e-5)
    monkeypatch.setenv("BERRY_MODEL_CACHE", str(tmp_path / "cache"))
    assert onnx_path().parent == tmp_path / "cache" and onnx_path().name.startswith("all-minilm-l6-v2-")
