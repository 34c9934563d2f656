"""Evaluate an engine's NLU on any Rasa-format train/test pair: accuracy, macro-F1, out-of-scope
precision/recall, training time, parse latency. Used by ``python -m bot evaluate`` and bench/nlu.py.

Metrics: ``accuracy`` / ``macro_f1`` over the in-scope test examples using the top-ranked intent
(the usual intent-classification figure); out-of-scope examples (labelled ``out_of_scope`` or
``nlu_fallback`` in the test file, or a retrieval intent of theirs: ``out_of_scope/other``) count
as detected when the engine, with its own threshold, answers an out-of-scope label.
``in_scope_rejected`` is the share of in-scope examples it rejected.
"""

from __future__ import annotations

import logging
import re
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot import nlu_data
from bot.nlu_data import Example, is_out_of_scope

log = logging.getLogger(__name__)


@dataclass
class Prediction:
    top: str  # best intent ignoring the out-of-scope threshold
    final: str  # what the engine answers (may be nlu_fallback)
    seconds: float
    cpu_seconds: float | None = None  # this process's CPU time for the parse (in-process engines)


def metrics(test: list[Example], preds: list[Prediction]) -> dict[str, Any]:
    pairs = [(ex.intent, p) for ex, p in zip(test, preds, strict=True)]
    inscope = [(gold, p) for gold, p in pairs if not is_out_of_scope(gold)]
    oos = [(gold, p) for gold, p in pairs if is_out_of_scope(gold)]
    labels = sorted({gold for gold, _ in inscope})
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for gold, p in inscope:
        if p.top == gold:
            tp[gold] += 1
        else:
            fn[gold] += 1
            fp[p.top] += 1
    f1s = [2 * tp[label] / max(1, 2 * tp[label] + fp[label] + fn[label]) for label in labels]
    flagged_oos = sum(1 for _, p in oos if is_out_of_scope(p.final))
    flagged_in = sum(1 for _, p in inscope if is_out_of_scope(p.final))
    latencies = sorted(p.seconds * 1000 for p in preds)
    cpu = sorted(p.cpu_seconds * 1000 for p in preds if p.cpu_seconds is not None)
    n = len(inscope)  # none (a test file of out-of-scope examples only): no in-scope figure, not a 0.0
    out: dict[str, Any] = {
        "n_test": len(pairs), "n_in_scope": n, "n_out_of_scope": len(oos),
        "accuracy": round(sum(tp.values()) / n, 4) if n else None,
        "accuracy_with_threshold": round(sum(1 for g, p in inscope if p.final == g) / n, 4) if n else None,
        "macro_f1": round(sum(f1s) / len(f1s), 4) if n else None,
        "in_scope_rejected": round(flagged_in / n, 4) if n else None,
        "oos_precision": round(flagged_oos / max(1, flagged_oos + flagged_in), 4) if oos else None,
        "oos_recall": round(flagged_oos / len(oos), 4) if oos else None,
        "parse_ms_p50": round(statistics.median(latencies), 2) if latencies else None,
        "parse_ms_p95": _p95(latencies),
    }
    if cpu:  # CPU time is what a parse costs whatever else the machine runs; wall time is what users wait
        out.update(parse_cpu_ms_p50=round(statistics.median(cpu), 2), parse_cpu_ms_p95=_p95(cpu))
    return out


def _p95(values: list[float]) -> float | None:
    return round(values[min(len(values) - 1, int(len(values) * 0.95))], 2) if values else None


def evaluate_embedded(train: list[Example], test: list[Example], *, cache_dir: Path | None = None,
                      progress: bool = True, tune_epochs: int | None = None) -> dict[str, Any]:
    from bot.embedded.classifier import IntentClassifier
    from bot.embedded.features import WORD_PATTERN
    from bot.settings import BotSettings

    if tune_epochs is None:
        tune_epochs = BotSettings().tune_epochs
    # with no word the word n-grams can see, sklearn's "empty vocabulary; perhaps the documents only
    # contain stop words" was all the CLI said
    word = re.compile(WORD_PATTERN)
    if not any(word.search(ex.text) for ex in train):
        raise ValueError("the training data has no word of two or more letters or digits (only emoji, "
                         "punctuation or single characters): the embedded engine needs some to learn from")
    # the encoder runs in ONNX Runtime with BERRY_ENCODER_THREADS threads (default 1, as in the hub);
    # fine-tuning (torch) uses torch's default threads
    cached = cache_dir is not None and \
        IntentClassifier.cache_path(train, cache_dir, tune_epochs=tune_epochs).exists()
    started = time.perf_counter()
    cpu = time.process_time()
    clf = IntentClassifier.train(train, cache_dir=cache_dir, progress=progress, tune_epochs=tune_epochs)
    train_cpu = time.process_time() - cpu
    took = time.perf_counter() - started
    train_seconds = clf.train_seconds or took
    clf.parse("warm up")
    preds = []
    for ex in tqdm(test, desc="parsing (embedded)", disable=not progress, leave=False):
        t0, c0 = time.perf_counter(), time.process_time()
        p = clf.parse(ex.text)
        preds.append(
            Prediction(p.ranking[0][0], p.intent, time.perf_counter() - t0, time.process_time() - c0)
        )
    return {"engine": "embedded", "tune_epochs": tune_epochs, "train_seconds": round(train_seconds, 1),
            "train_cpu_seconds": None if cached else round(train_cpu, 1),  # None: loaded from the cache
            "threshold": clf.threshold,
            **metrics(test, preds)}


def evaluate_rasa(train_file: Path, test: list[Example], *, config: Path | None = None,
                  progress: bool = True) -> dict[str, Any]:
    """Train an NLU-only Rasa model (cached by hash), serve it, parse every test example over HTTP."""
    import json
    import urllib.request

    from bot import rasa_runtime
    from hub.store import free_port

    config = config or rasa_runtime.PROJECT / "config.yml"
    model, train_seconds = rasa_runtime.train(config, [train_file], nlu_only=True, timeout=4 * 3600)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = rasa_runtime.rasa_server(model, port, Path(tmp))
        server.start(timeout=600)
        try:
            preds = []
            for ex in tqdm(test, desc="parsing (rasa)", disable=not progress, leave=False):
                req = urllib.request.Request(f"http://127.0.0.1:{port}/model/parse",
                                             data=json.dumps({"text": ex.text}).encode(),
                                             headers={"Content-Type": "application/json"})
                t0 = time.perf_counter()
                with urllib.request.urlopen(req, timeout=30) as resp:
                    parsed = json.loads(resp.read())
                seconds = time.perf_counter() - t0
                final = (parsed.get("intent") or {}).get("name") or "nlu_fallback"
                ranking = [
                    r["name"] for r in parsed.get("intent_ranking") or [] if r["name"] != "nlu_fallback"
                ]
                top = ranking[0] if ranking else final
                preds.append(Prediction(_retrieval(parsed, top), _retrieval(parsed, final), seconds))
        finally:
            server.stop()
    keys = sorted({ex.intent for ex in test if "/" in ex.intent and not is_out_of_scope(ex.intent)})
    if keys and not any("/" in p.top for p in preds):
        log.warning("rasa: %d test intent(s) are retrieval intents (%s); Rasa's intent classifier names "
                    "only their base intent and this pipeline has no ResponseSelector to name the rest, so "
                    "their examples count as wrong", len(keys), ", ".join(keys[:5]) + " …" * (len(keys) > 5))
    return {"engine": "rasa", "config": config.name, "train_seconds": round(train_seconds, 1),
            **metrics(test, preds)}


def _retrieval(parsed: dict[str, Any], intent: str) -> str:
    """A retrieval intent as the test file names it ("faq/ask_price"): Rasa's intent classifier
    names its base ("faq"), its ResponseSelector (when the pipeline has one) the whole key."""
    selectors = parsed.get("response_selector") or {}
    for name in (intent, "default"):
        key = ((selectors.get(name) or {}).get("response") or {}).get("intent_response_key")
        if isinstance(key, str) and key.partition("/")[0] == intent:
            return key
    return intent


def evaluate(engine: str, train_file: Path, test_file: Path, *, extra_test: list[Path] = (),  # type: ignore[assignment]
             cache_dir: Path | None = None, progress: bool = True, rasa_config: Path | None = None,
             tune_epochs: int | None = None) -> dict[str, Any]:
    train = nlu_data.load(train_file)
    # an --oos file is out-of-scope messages whatever its blocks are called (CLINC150's "oos", "chitchat")
    extra = [ex if is_out_of_scope(ex.intent) else replace(ex, intent="out_of_scope")
             for f in extra_test for ex in nlu_data.load(f)]
    test = nlu_data.load(test_file) + extra
    for name, path, examples in (("training", train_file, train), ("test", test_file, test)):
        if not examples:
            raise ValueError(f"no NLU examples in the {name} data {path} "
                             "(an 'nlu:' list of intents with examples)")
    seen = {(ex.intent, _norm(ex.text)) for ex in train}
    leaked = sum(1 for ex in test if (ex.intent, _norm(ex.text)) in seen)
    if leaked:  # an accuracy over examples trained on measures memory, not the engine
        log.warning("%d of %d test examples are also in the training data (same text and intent): "
                    "the figures overstate the engine", leaked, len(test))
    unknown = sorted(
        {ex.intent for ex in test if not is_out_of_scope(ex.intent)} - {ex.intent for ex in train}
    )
    if unknown:  # they count as wrong: say so, or a low accuracy looks like the engine's fault
        log.warning("%d test intent(s) not in the training data, their examples count as wrong: %s",
                    len(unknown), ", ".join(unknown[:10]) + (" …" if len(unknown) > 10 else ""))
    if engine == "embedded":
        result = evaluate_embedded(
            train, test, cache_dir=cache_dir, progress=progress, tune_epochs=tune_epochs
        )
    elif engine == "rasa":
        result = evaluate_rasa(train_file, test, config=rasa_config, progress=progress)
    else:
        raise ValueError(f"unknown engine {engine!r}")
    return {"train": str(train_file), "test": [str(test_file), *map(str, extra_test)],
            "n_train": len(train), "intents": len({ex.intent for ex in train}), **result}


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def table(results: list[dict[str, Any]]) -> str:
    cols = ["engine", "n_train", "n_test", "accuracy", "macro_f1", "oos_precision", "oos_recall",
            "in_scope_rejected", "train_seconds", "parse_ms_p50", "parse_ms_p95", "parse_cpu_ms_p95"]
    rows = [[str(r.get(c, "")) if r.get(c) is not None else "-" for c in cols] for r in results]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    line = lambda cells: "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(cols), *(line(row) for row in rows)])
