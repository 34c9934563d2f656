"""Intent classifier: logistic regression over all-MiniLM-L6-v2 embeddings plus TF-IDF word and
character n-grams (bot/embedded/features.py) — on the frozen encoder, and, when trained with
``tune_epochs``, also on the encoder fine-tuned on the training intents (tuning.py), the two
averaged — with an out-of-scope similarity threshold calibrated on held-out examples of its own
training data.

Out of scope = the predicted intent is an out-of-scope label (``out_of_scope``/``nlu_fallback``
examples, and their retrieval intents such as ``out_of_scope/other``, are trained like any intent),
or the message is unlike every in-scope training example: its sentence vector's best cosine
similarity to theirs (nearest neighbour, the frozen encoder's vectors) is below the threshold, or
its words are all new and that similarity is not high either (keyboard mashing).
Why not the classifier's confidence, the usual choice: a softmax is confident far from its data,
and distance tells "none of these" apart from "between two of these". At their calibrated
thresholds, out-of-scope recall rose from 0.73 to 0.95 on HWU64 (in-scope rejected 10.0 → 8.4 %)
and from 0.43 to 0.66 on RasaHQ/rasa-demo's data (8.9 → 7.7 %) (BENCHMARKS.md, session 8).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from bot.nlu_data import Example, is_out_of_scope, split
from knowledge_base.search.encoder import cosines

from .cache import prune
from .features import Encoder, Featurizer, sentence
from .mlp import MLPHead
from .tuning import TunedLayers

log = logging.getLogger(__name__)
FALLBACK = "nlu_fallback"
VERSION = 8  # bump when training changes, so cached models are retrained
# The MLP head (mlp.py) joins the regression when the intents average this many training examples.
# Measured on both sides of it, by 5-fold CV on training data: HWU64 (156 per intent) 92.33 -> 92.69 %;
# Berry's own data (~25 per intent) 84.79 -> 84.30 % (a few hundred examples do not fit its 3M weights).
MLP_MIN_PER_INTENT = 50
KEEP_MODELS = 6  # trained classifiers kept in a cache directory, most recently used first
# A message of words the training data never had is keyboard mashing, unless its sentence vector is
# this close to a training example's: then the words are new ways to say a known thing ("definitely",
# "okay" held out of the project's data: 0.84-0.96). 300 random mashes: at most 0.73 to the
# project's data, 0.65 to HWU64's (the session 9 note on issue 9).
NEW_WORDS_KNOWN = 0.8


@dataclass(frozen=True)
class Parse:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    similarity: float = 1.0  # to the nearest in-scope training example (cosine)
    unseen: bool = False  # nothing like the training data (keyboard mashing): the ranking means nothing

    @property
    def out_of_scope(self) -> bool:
        return is_out_of_scope(self.intent)


def _wants_mlp(examples: list[Example], mlp: bool | None) -> bool:
    if mlp is not None:
        return mlp
    return len(examples) >= MLP_MIN_PER_INTENT * len({ex.intent for ex in examples})


def _fingerprint(examples: list[Example], **params: object) -> str:
    digest = hashlib.sha256(json.dumps([VERSION, params], sort_keys=True).encode())
    for ex in examples:
        digest.update(f"{ex.intent}\t{ex.text}\n".encode())
    return digest.hexdigest()[:16]


def calibrate_threshold(scores: list[float], correct: list[bool], is_oos: list[bool],
                        max_in_scope_rejection: float = 0.05) -> float:
    """Pick the threshold on held-out predictions' scores (the similarity to the training
    examples; lower = more likely out of scope).

    With held-out out-of-scope examples: the threshold that maximizes the F1 of out-of-scope
    detection while rejecting at most ``max_in_scope_rejection`` of the in-scope examples the
    classifier got right. Without: the ``max_in_scope_rejection`` quantile of those scores
    (a wrong-but-confident answer costs more than one "please rephrase")."""
    right = sorted(c for c, ok, oos in zip(scores, correct, is_oos, strict=True) if ok and not oos)
    if not right:
        return 0.5
    cap = right[int(len(right) * max_in_scope_rejection)]
    if not any(is_oos):
        return round(min(cap, 0.9), 4)
    best, best_f1 = 0.0, -1.0
    for t in sorted(set(scores)):
        if t > cap:
            break
        tp = sum(1 for c, oos in zip(scores, is_oos, strict=True) if oos and c < t)
        fp = sum(1 for c, oos in zip(scores, is_oos, strict=True) if not oos and c < t)
        fn = sum(is_oos) - tp
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if f1 > best_f1:
            best, best_f1 = t, f1
    return round(best, 4)


def _folds(
    examples: list[Example], holdout: float, small: int = 3000
) -> list[tuple[list[Example], list[Example]]]:
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


def condense(vectors: np.ndarray, intents: list[str], budget: int = 2048, most: int = 32) -> np.ndarray:
    """The examples' unit vectors, an intent with more than its share (``budget`` / intents, at
    most ``most``, at least 4) replaced by that many k-means centroids. Why: a parse scans all of
    them, and HWU64's 9,960 × 1,152 floats (46 MB) evicted the encoder's weights from the caches
    (parse CPU 4 → 10 ms); 2,048 centroids cost ~1 ms and detect out-of-scope messages about as
    well (HWU64 AUROC 0.979 vs 0.981, BENCHMARKS.md session 8)."""
    from sklearn.cluster import KMeans

    if not len(vectors):
        return np.zeros((0, vectors.shape[1]), dtype=np.float32)
    labels = np.array(intents)
    share = max(4, min(most, budget // max(1, len(set(intents)))))
    parts = []
    for intent in sorted(set(intents)):
        mine = vectors[labels == intent]
        if len(mine) > share:
            mine = KMeans(n_clusters=share, n_init=1, random_state=0).fit(mine).cluster_centers_
            mine = mine / np.linalg.norm(mine, axis=1, keepdims=True)
        parts.append(mine)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


_encoder: Encoder | None = None


def shared_encoder() -> Encoder:
    """One frozen encoder per process (it is read-only, ~90 MB)."""
    global _encoder
    if _encoder is None:
        _encoder = Encoder()
    return _encoder


class Head:
    """One view of a text: an encoder's sentence embedding next to the n-grams (``Featurizer``),
    and a logistic regression over them."""

    def __init__(self, featurizer: Featurizer, model: LogisticRegression) -> None:
        self.featurizer = featurizer
        self.model = model

    @classmethod
    def fit(cls, featurizer: Featurizer, texts: list[str], intents: list[str], emb: np.ndarray,
            c: float) -> Head:
        model = LogisticRegression(C=c, max_iter=2000).fit(featurizer.transform(texts, emb), intents)
        return cls(featurizer, model)

    def probs(self, texts: list[str], emb: np.ndarray | None) -> np.ndarray:
        return self.model.predict_proba(self.featurizer.transform(texts, emb))

    def probs_one(self, text: str, emb: np.ndarray | None, words: list[str], grams: list[str]) -> np.ndarray:
        """``probs`` of one message: the same softmax over the multinomial model's scores (see
        tests/unit/bot/test_features.py) computed from the weights directly, on n-grams analysed
        once for every head."""
        feats = self.featurizer
        vector = sentence(emb if emb is not None else feats.encoder.encode([text]))[0]
        (wi, wv), (ci, cv) = feats.tfidf(words, grams)
        coef, dim, n_words = self.model.coef_, vector.shape[0], len(feats.words.vocabulary_)
        scores = coef[:, :dim] @ (vector * feats.embedding_weight) + self.model.intercept_
        scores += coef[:, dim + wi] @ wv + coef[:, dim + n_words + ci] @ cv
        probs = np.exp(scores - scores.max())
        return probs / probs.sum()


class IntentClassifier:
    """One head on the frozen encoder, plus one on the fine-tuned encoder when trained with
    ``tune_epochs``: their probabilities are averaged (two views of the text err on different
    examples, a little: HWU64 train, folds 0-3 of bench/nlu_cv.py, 92.63 % vs 92.45 % frozen)."""

    def __init__(self, heads: list[Head], labels: list[str], threshold: float, support: np.ndarray,
                 mlp: MLPHead | None = None) -> None:
        self.heads = heads
        self.mlp = mlp  # on the frozen encoder's wide view (mlp.py)
        self.labels = labels
        self.threshold = threshold  # the least similarity to ``support`` that is in scope
        self.support = support  # the in-scope training examples' unit sentence vectors (frozen encoder)
        self.train_seconds = 0.0

    @property
    def featurizer(self) -> Featurizer:
        """The frozen head's; its n-grams are every head's (``Featurizer.with_encoder``)."""
        return self.heads[0].featurizer

    @property
    def tuned(self) -> bool:
        return len(self.heads) > 1

    @staticmethod
    def cache_path(examples: list[Example], cache_dir: Path, *, holdout: float = 0.1, c: float = 10.0,
                   tune_epochs: int = 0, mlp: bool | None = None) -> Path:
        params: dict[str, object] = {"holdout": holdout, "c": c, "mlp": _wants_mlp(examples, mlp)}
        if tune_epochs:  # the frozen classifier's key is unchanged: its cached models stay valid
            params["tune_epochs"] = tune_epochs
        return cache_dir / f"{_fingerprint(examples, **params)}.pkl"

    @classmethod
    def train(cls, examples: list[Example], *, holdout: float = 0.1, c: float = 10.0,
              cache_dir: Path | None = None, progress: bool = False,
              tune_epochs: int = 0, mlp: bool | None = None,
              stop: threading.Event | None = None) -> IntentClassifier:
        """Calibrate the threshold on held-out predictions, then refit on everything. Cached under
        ``cache_dir`` by a fingerprint of the data and parameters.

        ``tune_epochs`` > 0: also fine-tune the encoder (tuning.py) and add a head on it. The
        threshold is calibrated on one stratified ``holdout`` share that encoder was not tuned on
        (it must not have seen what calibrates it); then the encoder too is tuned again on
        everything (twice the tuning time, the validated configuration: HWU64's CV folds tuned on
        all of their training part). 0: the frozen encoder's head alone, calibrated on ``_folds``.
        ``mlp``: add the MLP head (mlp.py); None: when the data is large enough (MLP_MIN_PER_INTENT).
        ``stop``: see ``fine_tune``."""
        if len({ex.intent for ex in examples}) < 2:
            raise ValueError("the classifier needs examples of at least two intents")
        path = cls.cache_path(examples, cache_dir, holdout=holdout, c=c, tune_epochs=tune_epochs, mlp=mlp) \
            if cache_dir is not None else None
        if path is not None and path.exists():
            os.utime(path)  # recently used: what pruning keeps
            return cls.load(path)
        started = time.perf_counter()
        mlp = _wants_mlp(examples, mlp)
        texts = [ex.text for ex in examples]
        encoders = [shared_encoder()]

        def tune(subset: list[Example]) -> Encoder:
            from .tuning import fine_tune

            return Encoder(fine_tune([ex.text for ex in subset], [ex.intent for ex in subset],
                                     epochs=tune_epochs, max_length=Encoder.MAX_TOKENS, progress=progress,
                                     stop=stop))

        if holdout <= 0:
            folds = []
        elif tune_epochs:  # one split: the tuned encoder must not have seen what calibrates it
            folds = [split(examples, holdout, seed=11)]
        else:
            folds = _folds(examples, holdout)
        # tiny data: a fold may hold nothing out, or leave one intent to train on (the others' only
        # examples held out); such a fold calibrates nothing
        folds = [(part, held) for part, held in folds if held and len({ex.intent for ex in part}) > 1]
        if tune_epochs:
            encoders.append(tune(folds[0][0] if folds else examples))
        embs = [encoder.encode(texts) for encoder in encoders]
        row = {id(ex): i for i, ex in enumerate(examples)}

        def fit(subset: list[Example]) -> IntentClassifier:
            rows = [row[id(ex)] for ex in subset]
            subset_texts, intents = [ex.text for ex in subset], [ex.intent for ex in subset]
            ngrams = Featurizer(encoders[0])
            ngrams.fit(subset_texts)
            heads = [Head.fit(ngrams.with_encoder(encoder), subset_texts, intents, emb[rows], c)
                     for encoder, emb in zip(encoders, embs, strict=True)]
            labels = list(heads[0].model.classes_)
            neural = MLPHead.fit(embs[0][rows], intents, labels) if mlp else None
            inside = [ex for ex in subset if not is_out_of_scope(ex.intent)]
            inside_rows = [row[id(ex)] for ex in inside]
            support = condense(sentence(embs[0][inside_rows]), [ex.intent for ex in inside])
            return cls(heads, labels, 0.0, support, neural)

        threshold = 0.5
        if folds:
            scores: list[float] = []
            correct: list[bool] = []
            is_oos: list[bool] = []
            for train_set, held in folds:
                held_rows = [row[id(ex)] for ex in held]
                parses = fit(train_set)._parse([ex.text for ex in held], [emb[held_rows] for emb in embs],
                                               apply_threshold=False)
                # a predicted out-of-scope intent is out of scope whatever the threshold
                scores += [-1.0 if p.out_of_scope else p.similarity for p in parses]
                correct += [p.intent == ex.intent for p, ex in zip(parses, held, strict=True)]
                is_oos += [is_out_of_scope(ex.intent) for ex in held]
            threshold = calibrate_threshold(scores, correct, is_oos)
            if tune_epochs:  # like the heads, the encoder is refit on everything once it has calibrated
                encoders[1] = tune(examples)
                embs[1] = encoders[1].encode(texts)
        clf = fit(examples)
        clf.threshold = threshold
        clf.train_seconds = time.perf_counter() - started
        log.info("intent classifier trained", extra={"examples": len(examples), "intents": len(clf.labels),
                                                     "seconds": round(clf.train_seconds, 1),
                                                     "threshold": clf.threshold, "tune_epochs": tune_epochs})
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            clf.save(path)
            prune(path.parent, "*.pkl", keep=KEEP_MODELS, current=path)
        return clf

    def parse_embedded(self, texts: list[str], embeddings: list[np.ndarray], *,
                       apply_threshold: bool = True) -> list[Parse]:
        """Parse with each head's embeddings computed beforehand."""
        return self._parse(texts, embeddings, apply_threshold=apply_threshold)

    def _parse(self, texts: list[str], embs: list[np.ndarray] | None = None, *,
               apply_threshold: bool = True) -> list[Parse]:
        if not texts:
            return []
        texts = [t[:1000] for t in texts]
        frozen = embs[0] if embs is not None else self.featurizer.encoder.encode(texts)  # also the distance's
        others: list[np.ndarray | None] = list(embs[1:]) if embs is not None \
            else [None] * (len(self.heads) - 1)
        each = [frozen, *others]
        sims = self.similarity(sentence(frozen))
        neural = [self.mlp.probs(frozen)] if self.mlp is not None else []
        if len(texts) == 1 and self.heads[0].model.coef_.shape[0] == len(self.labels) > 2:
            words, grams = self.featurizer.ngrams(texts[0])
            probs = np.mean([*(head.probs_one(texts[0], emb, words, grams)
                               for head, emb in zip(self.heads, each, strict=True)), *(n[0] for n in neural)],
                            axis=0)
            unseen = apply_threshold and self.featurizer.unseen_ngrams(words, grams)
            return [self._decide(probs, float(sims[0]), unseen, apply_threshold)]
        probs = np.mean([*(head.probs(texts, emb) for head, emb in zip(self.heads, each, strict=True)),
                         *neural], axis=0)
        return [self._decide(row, float(sim), apply_threshold and self.featurizer.unseen(text),
                             apply_threshold)
                for text, row, sim in zip(texts, probs, sims, strict=True)]

    def similarity(self, vectors: np.ndarray, chunk: int = 256) -> np.ndarray:
        """Each unit vector's best cosine similarity to the in-scope training examples'."""
        if not len(self.support):
            return np.ones(len(vectors), dtype=np.float32)
        if len(vectors) == 1:  # a parse
            return np.array([cosines(self.support, vectors[0]).max()])
        return np.concatenate([(vectors[i:i + chunk] @ self.support.T).max(axis=1)
                               for i in range(0, len(vectors), chunk)])

    def _decide(self, row: np.ndarray, similarity: float, unseen: bool, apply_threshold: bool) -> Parse:
        top = np.argsort(-row)[:5]
        ranking = tuple((self.labels[i], round(float(row[i]), 4)) for i in top)
        intent, conf = ranking[0]
        unseen = unseen and similarity < NEW_WORDS_KNOWN
        if apply_threshold and (similarity < self.threshold or unseen):
            intent = FALLBACK
        return Parse(intent, conf, ranking, round(similarity, 4), unseen)

    def parse_many(self, texts: list[str], *, apply_threshold: bool = True) -> list[Parse]:
        return self._parse(texts, apply_threshold=apply_threshold)

    def parse(self, text: str) -> Parse:
        return self._parse([text])[0]

    def save(self, path: Path) -> None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # one per writer
        with tmp.open("wb") as f:
            tuned = self.heads[-1].featurizer.encoder.tuned
            pickle.dump({"heads": [(h.featurizer, h.model) for h in self.heads], "labels": self.labels,
                         "threshold": self.threshold, "support": self.support, "mlp": self.mlp,
                         "train_seconds": self.train_seconds,
                         "tuned": tuned.layers if tuned is not None else None}, f)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        with path.open("rb") as f:  # our own cache file, written by save()
            data = pickle.load(f)
        heads = [Head(featurizer, model) for featurizer, model in data["heads"]]
        heads[0].featurizer.encoder = shared_encoder()
        if data["tuned"] is not None:
            heads[1].featurizer.encoder = Encoder(TunedLayers(data["tuned"]))
        clf = cls(heads, list(data["labels"]), float(data["threshold"]), data["support"], data["mlp"])
        clf.train_seconds = float(data.get("train_seconds", 0.0))
        return clf
