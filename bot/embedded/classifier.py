"""Intent classifier: a fine-tuned all-MiniLM-L6-v2 with a softmax head, plus an out-of-scope
confidence threshold the classifier calibrates on held-out examples of its own training data.

Out of scope = the predicted intent is an out-of-scope label (``out_of_scope``/``nlu_fallback``
examples are trained like any intent) or the confidence is below the threshold.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from bot.nlu_data import OUT_OF_SCOPE, Example, split

from .encoder import IntentNet, epochs_for

log = logging.getLogger(__name__)
FALLBACK = "nlu_fallback"
VERSION = 1  # bump when training changes, so cached models are retrained


@dataclass(frozen=True)
class Parse:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]

    @property
    def out_of_scope(self) -> bool:
        return self.intent in OUT_OF_SCOPE


def _fingerprint(examples: list[Example], **params: object) -> str:
    digest = hashlib.sha256(json.dumps([VERSION, params], sort_keys=True).encode())
    for ex in examples:
        digest.update(f"{ex.intent}\t{ex.text}\n".encode())
    return digest.hexdigest()[:16]


def calibrate_threshold(confidences: list[float], correct: list[bool], is_oos: list[bool],
                        max_in_scope_rejection: float = 0.05) -> float:
    """Pick the confidence threshold on held-out predictions.

    With held-out out-of-scope examples: the threshold that maximizes the F1 of out-of-scope
    detection while rejecting at most ``max_in_scope_rejection`` of the in-scope examples the
    classifier got right. Without: the ``max_in_scope_rejection`` quantile of those confidences
    (a wrong-but-confident answer costs more than one "please rephrase")."""
    right = sorted(c for c, ok, oos in zip(confidences, correct, is_oos, strict=True) if ok and not oos)
    if not right:
        return 0.5
    cap = right[int(len(right) * max_in_scope_rejection)]
    if not any(is_oos):
        return round(min(cap, 0.9), 4)
    best, best_f1 = 0.0, -1.0
    for t in sorted(set(confidences)):
        if t > cap:
            break
        tp = sum(1 for c, oos in zip(confidences, is_oos, strict=True) if oos and c < t)
        fp = sum(1 for c, oos in zip(confidences, is_oos, strict=True) if not oos and c < t)
        fn = sum(is_oos) - tp
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if f1 > best_f1:
            best, best_f1 = t, f1
    return round(best, 4)


class IntentClassifier:
    def __init__(self, net: IntentNet, labels: list[str], threshold: float) -> None:
        self.net = net
        self.labels = labels
        self.threshold = threshold
        self.train_seconds = 0.0

    @classmethod
    def train(cls, examples: list[Example], *, holdout: float = 0.1, epochs: int | None = None,
              cache_dir: Path | None = None, progress: bool = False) -> IntentClassifier:
        """Fine-tune on (1 - holdout) of the examples, calibrate the threshold on the rest.
        Cached under ``cache_dir`` by a fingerprint of the data and parameters."""
        torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
        key = _fingerprint(examples, holdout=holdout, epochs=epochs)
        if cache_dir is not None and (cache_dir / f"{key}.pt").exists():
            return cls.load(cache_dir / f"{key}.pt")
        started = time.perf_counter()
        train_set, held = split(examples, holdout, seed=11) if holdout > 0 else (examples, [])
        labels = sorted({ex.intent for ex in examples})
        index = {label: i for i, label in enumerate(labels)}
        net = IntentNet(len(labels))
        net.fit([ex.text for ex in train_set], [index[ex.intent] for ex in train_set],
                epochs=epochs or epochs_for(len(train_set)), progress=progress)
        clf = cls(net, labels, 0.5)
        if held:
            parses = clf.parse_many([ex.text for ex in held], apply_threshold=False)
            clf.threshold = calibrate_threshold(
                [p.confidence for p in parses],
                [p.intent == ex.intent for p, ex in zip(parses, held, strict=True)],
                [ex.intent in OUT_OF_SCOPE for ex in held])
        clf.train_seconds = time.perf_counter() - started
        log.info("intent classifier trained", extra={"examples": len(examples), "intents": len(labels),
                                                     "seconds": round(clf.train_seconds, 1),
                                                     "threshold": clf.threshold})
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            clf.save(cache_dir / f"{key}.pt")
        return clf

    def parse_many(self, texts: list[str], *, apply_threshold: bool = True) -> list[Parse]:
        probs = self.net.probabilities([t[:1000] for t in texts])
        out = []
        for row in probs:
            top = torch.topk(row, k=min(5, len(self.labels)))
            ranking = tuple((self.labels[i], round(float(p), 4)) for p, i in zip(top.values, top.indices))
            intent, conf = ranking[0]
            if apply_threshold and conf < self.threshold:
                intent = FALLBACK
            out.append(Parse(intent, conf, ranking))
        return out

    def parse(self, text: str) -> Parse:
        return self.parse_many([text])[0]

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save({"labels": self.labels, "threshold": self.threshold, "train_seconds": self.train_seconds,
                    "state": self.net.state_dict()}, tmp)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        data = torch.load(path, map_location="cpu", weights_only=True)
        net = IntentNet(len(data["labels"]))
        net.load_state_dict(data["state"])
        net.eval()
        clf = cls(net, list(data["labels"]), float(data["threshold"]))
        clf.train_seconds = float(data.get("train_seconds", 0.0))
        return clf
