"""Intent classifier: logistic regression over frozen all-MiniLM-L6-v2 embeddings plus TF-IDF word
and character n-grams (bot/embedded/features.py), with an out-of-scope confidence threshold the
classifier calibrates on held-out examples of its own training data.

Out of scope = the predicted intent is an out-of-scope label (``out_of_scope``/``nlu_fallback``
examples are trained like any intent) or the confidence is below the threshold.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from bot.nlu_data import OUT_OF_SCOPE, Example, split

from .features import Encoder, Featurizer
from .tuning import TopLayers

log = logging.getLogger(__name__)
FALLBACK = "nlu_fallback"
VERSION = 4  # bump when training changes, so cached models are retrained


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


def _folds(examples: list[Example], holdout: float, small: int = 3000) -> list[tuple[list[Example], list[Example]]]:
    """Held-out splits for calibration. Large data: one stratified ``holdout`` share. Small data
    (a project's own few hundred examples, a handful of them out of scope): disjoint stratified
    folds covering every example, so the threshold is not decided by five or six held-out ones."""
    if len(examples) > small:
        return [split(examples, holdout, seed=11)]
    k = max(2, round(1 / holdout) // 2)  # 0.1 → 5 folds
    by_intent: dict[str, list[Example]] = {}
    for ex in examples:
        by_intent.setdefault(ex.intent, []).append(ex)
    fold_of: dict[int, int] = {}
    rng = random.Random(11)
    for items in by_intent.values():
        order = items[:]
        rng.shuffle(order)
        for i, ex in enumerate(order):
            fold_of[id(ex)] = i % k
    return [([ex for ex in examples if fold_of[id(ex)] != f], [ex for ex in examples if fold_of[id(ex)] == f])
            for f in range(k)]


_encoder: Encoder | None = None


def shared_encoder() -> Encoder:
    """One frozen encoder per process (it is read-only, ~90 MB)."""
    global _encoder
    if _encoder is None:
        _encoder = Encoder()
    return _encoder


class IntentClassifier:
    def __init__(self, featurizer: Featurizer, model: LogisticRegression, labels: list[str],
                 threshold: float) -> None:
        self.featurizer = featurizer
        self.model = model
        self.labels = labels
        self.threshold = threshold
        self.train_seconds = 0.0

    @staticmethod
    def _fit(texts: list[str], intents: list[str], emb: np.ndarray, c: float,
             encoder: Encoder) -> tuple[Featurizer, LogisticRegression]:
        feats = Featurizer(encoder)
        feats.fit(texts)
        model = LogisticRegression(C=c, max_iter=2000)
        model.fit(feats.transform(texts, emb), intents)
        return feats, model

    @staticmethod
    def cache_path(examples: list[Example], cache_dir: Path, *, holdout: float = 0.1, c: float = 10.0,
                   tune_epochs: int = 0) -> Path:
        params: dict[str, object] = {"holdout": holdout, "c": c}
        if tune_epochs:  # the frozen classifier's key is unchanged: its cached models stay valid
            params["tune_epochs"] = tune_epochs
        return cache_dir / f"{_fingerprint(examples, **params)}.pkl"

    @classmethod
    def train(cls, examples: list[Example], *, holdout: float = 0.1, c: float = 10.0,
              cache_dir: Path | None = None, progress: bool = False,
              embeddings: np.ndarray | None = None, tune_epochs: int = 0) -> IntentClassifier:
        """Calibrate the threshold on held-out predictions, then refit on everything. Cached under
        ``cache_dir`` by a fingerprint of the data and parameters.

        ``tune_epochs`` > 0: first fine-tune the encoder's top two layers (tuning.py) on all but a
        stratified ``holdout`` share, which then calibrates the threshold (one split, since the
        tuned encoder must not have seen what calibrates it); 0: the frozen encoder, calibrated on
        ``_folds``."""
        path = cls.cache_path(examples, cache_dir, holdout=holdout, c=c, tune_epochs=tune_epochs) \
            if cache_dir is not None else None
        if path is not None and path.exists():
            return cls.load(path)
        started = time.perf_counter()
        texts = [ex.text for ex in examples]
        encoder = shared_encoder()
        folds = _folds(examples, holdout) if holdout > 0 else []
        if tune_epochs:
            from .tuning import fine_tune

            base = encoder.base_states(texts)
            folds = [split(examples, holdout, seed=11)] if holdout > 0 else []
            tuned_on = folds[0][0] if folds else examples
            rows = {id(ex): i for i, ex in enumerate(examples)}
            top = fine_tune([base[rows[id(ex)]] for ex in tuned_on], [ex.intent for ex in tuned_on],
                            epochs=tune_epochs)
            encoder = Encoder(top)
            emb = encoder.from_base(base)
        else:
            emb = embeddings if embeddings is not None else encoder.encode(texts)
        row = {id(ex): i for i, ex in enumerate(examples)}
        threshold = 0.5
        if folds:
            confidences: list[float] = []
            correct: list[bool] = []
            is_oos: list[bool] = []
            for train_set, held in folds:
                rows_ = [row[id(ex)] for ex in train_set]
                feats, model = cls._fit([ex.text for ex in train_set], [ex.intent for ex in train_set],
                                        emb[rows_], c, encoder)
                probe = cls(feats, model, list(model.classes_), 0.0)
                held_rows = [row[id(ex)] for ex in held]
                parses = probe._parse([ex.text for ex in held], emb[held_rows], apply_threshold=False)
                confidences += [p.confidence for p in parses]
                correct += [p.intent == ex.intent for p, ex in zip(parses, held, strict=True)]
                is_oos += [ex.intent in OUT_OF_SCOPE for ex in held]
            threshold = calibrate_threshold(confidences, correct, is_oos)
        feats, model = cls._fit(texts, [ex.intent for ex in examples], emb, c, encoder)
        clf = cls(feats, model, list(model.classes_), threshold)
        clf.train_seconds = time.perf_counter() - started
        log.info("intent classifier trained", extra={"examples": len(examples), "intents": len(clf.labels),
                                                     "seconds": round(clf.train_seconds, 1),
                                                     "threshold": clf.threshold, "tune_epochs": tune_epochs})
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            clf.save(path)
        return clf

    def parse_embedded(self, texts: list[str], embeddings: np.ndarray, *, apply_threshold: bool = True) -> list[Parse]:
        """Parse with embeddings computed beforehand (benchmarks reuse one encoding pass)."""
        return self._parse(texts, embeddings, apply_threshold=apply_threshold)

    def _parse(self, texts: list[str], emb: np.ndarray | None = None, *, apply_threshold: bool = True) -> list[Parse]:
        texts = [t[:1000] for t in texts]
        if len(texts) == 1 and self.model.coef_.shape[0] == len(self.labels) > 2:
            return [self._parse_one(texts[0], emb, apply_threshold)]
        probs = self.model.predict_proba(self.featurizer.transform(texts, emb))
        return [self._decide(row, apply_threshold and self.featurizer.unseen(text), apply_threshold)
                for text, row in zip(texts, probs, strict=True)]

    def _parse_one(self, text: str, emb: np.ndarray | None, apply_threshold: bool) -> Parse:
        """The bot's path, one message: the same probabilities as ``predict_proba`` (a softmax over
        the multinomial model's scores, see tests/unit/bot/test_features.py) computed from the
        weights directly, with the n-grams analysed once for both the scores and ``unseen``."""
        feats = self.featurizer
        vector = (emb if emb is not None else feats.encoder.encode([text]))[0]
        words, grams = feats.ngrams(text)
        (wi, wv), (ci, cv) = feats.tfidf(words, grams)
        coef, dim, n_words = self.model.coef_, vector.shape[0], len(feats.words.vocabulary_)
        scores = coef[:, :dim] @ (vector * feats.embedding_weight) + self.model.intercept_
        scores += coef[:, dim + wi] @ wv + coef[:, dim + n_words + ci] @ cv
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        return self._decide(probs, apply_threshold and feats.unseen_ngrams(words, grams), apply_threshold)

    def _decide(self, row: np.ndarray, unseen: bool, apply_threshold: bool) -> Parse:
        top = np.argsort(-row)[:5]
        ranking = tuple((self.labels[i], round(float(row[i]), 4)) for i in top)
        intent, conf = ranking[0]
        if apply_threshold and (conf < self.threshold or unseen):
            intent = FALLBACK
        return Parse(intent, conf, ranking)

    def parse_many(self, texts: list[str], *, apply_threshold: bool = True) -> list[Parse]:
        return self._parse(texts, apply_threshold=apply_threshold)

    def parse(self, text: str) -> Parse:
        return self._parse([text])[0]

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            top = self.featurizer.encoder.top
            pickle.dump({"featurizer": self.featurizer, "model": self.model, "labels": self.labels,
                         "threshold": self.threshold, "train_seconds": self.train_seconds,
                         "top": top.layers if top is not None else None}, f)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        with path.open("rb") as f:  # our own cache file, written by save()
            data = pickle.load(f)
        feats: Featurizer = data["featurizer"]
        feats.encoder = Encoder(TopLayers(data["top"])) if data.get("top") else shared_encoder()
        clf = cls(feats, data["model"], list(data["labels"]), float(data["threshold"]))
        clf.train_seconds = float(data.get("train_seconds", 0.0))
        return clf
