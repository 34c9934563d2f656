"""Features for the intent classifier: frozen all-MiniLM-L6-v2 sentence embeddings (meaning) next to
TF-IDF word 1–2-grams and character 2–5-grams (exact wording, typos, names like "payout").

The sentence embedding generalizes to unseen phrasings; the n-grams catch domain words the
encoder was never trained on. Both are L2-normalized rows, so one linear model weighs them.
The embedding is the mean-pooled output of the encoder's last three layers side by side, not only
the last: a linear probe on the upper layers together separates intents better (HWU64, a 10 %
validation split of its training set: 92.4 % vs 91.5 % for the last layer alone, dense features).
"""

from __future__ import annotations

import copy

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from knowledge_base.search.encoder import DIMENSIONS, mean_pool, shared_encoder
from knowledge_base.search.encoder import Encoder as OnnxEncoder

from .tuning import TunedLayers


class Encoder:
    """Sentence features (inference only) from the process's one MiniLM (ONNX Runtime, shared with
    the knowledge base's search: one model in memory, not two). With ``tuned``
    (bot/embedded/tuning.py), the classifier's fine-tuned layers: the encoder is then its own ONNX
    graph (a second session, ~90 MB).

    ``encode`` gives the *wide* view, one pass: every layer's hidden states mean-pooled, the last
    layer max-pooled and its first token, each part unit length (what the MLP head reads);
    ``sentence`` takes the regression's and the distance's vector out of it."""

    LAYERS = (4, 5, 6)  # the sentence vector's hidden states: 0 = token embeddings, 6 = the last layer
    WIDE = (1, 2, 3, 4, 5, 6)  # mean-pooled in the wide view, then max and first token of the last
    MAX_TOKENS = 64

    def __init__(self, tuned: TunedLayers | None = None) -> None:
        self.net = shared_encoder() if tuned is None else OnnxEncoder(tuned.graph())
        self.tuned = tuned
        self.dim = DIMENSIONS * len(self.LAYERS)  # of the sentence vector
        self.wide_dim = DIMENSIONS * (len(self.WIDE) + 2)

    def _embed(self, texts: list[str]) -> np.ndarray:
        states, mask = self.net.hidden(texts, self.WIDE, max_length=self.MAX_TOKENS)
        last = states[-1]
        peak = np.where(mask[..., None] > 0, last, -np.inf).max(axis=1)
        return np.concatenate([mean_pool(states, mask), _unit(peak), _unit(last[:, 0])], axis=1)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        if len(texts) == 1:  # the parse path: no sorting, no padding
            return self._embed([texts[0][:1000]])
        parts = []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        for i in range(0, len(order), batch_size):
            chunk = [texts[j][:1000] for j in order[i:i + batch_size]]
            parts.append(self._embed(chunk))
        out = np.zeros((len(texts), self.wide_dim), dtype=np.float32)
        if parts:
            out[order] = np.concatenate(parts)
        return out


def sentence(wide: np.ndarray) -> np.ndarray:
    """The sentence vector of ``Encoder.encode``'s rows: hidden states 4-6 mean-pooled, side by
    side, unit length (each part is unit length: the three together have length sqrt(3))."""
    n = len(Encoder.LAYERS)
    first = Encoder.WIDE.index(Encoder.LAYERS[0]) * DIMENSIONS
    return wide[:, first:first + n * DIMENSIONS] / np.float32(np.sqrt(n))


# a word as the word n-grams see one (scikit-learn's default token pattern, named so the evaluation
# CLI can tell training data without a single word before the vectorizer fails on it)
WORD_PATTERN = r"(?u)\b\w\w+\b"


class Featurizer:
    def __init__(self, encoder: Encoder, embedding_weight: float = 2.0) -> None:
        self.encoder = encoder
        self.embedding_weight = embedding_weight
        self.words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True,
                                     token_pattern=WORD_PATTERN)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                     lowercase=True)

    def fit(self, texts: list[str]) -> None:
        self.words.fit(texts)
        # character n-grams seen once are noise in real data; in a handful of texts they may be all
        # there is (min_df=2 would then leave no vocabulary at all)
        self.chars.set_params(min_df=2 if len(texts) >= 50 else 1)
        self.chars.fit(texts)

    def with_encoder(self, encoder: Encoder) -> Featurizer:
        """The same fitted n-grams beside another encoder's embedding (the classifier's heads share
        one vocabulary: fitted once, pickled once)."""
        twin = copy.copy(self)
        twin.encoder = encoder
        return twin

    def transform(self, texts: list[str], embeddings: np.ndarray | None = None) -> sparse.csr_matrix:
        emb = sentence(embeddings if embeddings is not None else self.encoder.encode(texts))
        return sparse.hstack([sparse.csr_matrix(emb * self.embedding_weight), self.words.transform(texts),
                              self.chars.transform(texts)], format="csr")

    def ngrams(self, text: str) -> tuple[list[str], list[str]]:
        """The word and character n-grams of one text, as the vectorizers see them (lowercased)."""
        analyzers = self.__dict__.get("_analyzers")
        if analyzers is None:  # built once, not per message
            analyzers = self._analyzers = (self.words.build_analyzer(), self.chars.build_analyzer())
        return analyzers[0](text), analyzers[1](text)

    def tfidf(self, words: list[str], grams: list[str]) -> tuple[Sparse, Sparse]:
        """``transform``'s n-gram parts of one text as (indices, values) pairs, without building
        scipy matrices: the parse path's cost is the encoder, not this bookkeeping."""
        return _tfidf(self.words, words), _tfidf(self.chars, grams)

    def unseen(self, text: str, min_chars: float = 0.5) -> bool:
        """Nothing like the training data: not one known word and under half of the character
        n-grams known. Catches keyboard mashing ("zxq vlorp mmmph") that a softmax may still give a
        confident-looking intent; typos keep most n-grams ("cancle my bokking": 72 %) and pass."""
        return self.unseen_ngrams(*self.ngrams(text), min_chars=min_chars)

    def unseen_ngrams(self, words: list[str], grams: list[str], min_chars: float = 0.5) -> bool:
        if not words or any(w in self.words.vocabulary_ for w in words):
            return False
        return sum(g in self.chars.vocabulary_ for g in grams) < min_chars * len(grams)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("encoder", None)  # the encoder is the packaged model: never pickled
        state.pop("_analyzers", None)  # closures, rebuilt on use
        return state


Sparse = tuple[np.ndarray, np.ndarray]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _tfidf(vectorizer: TfidfVectorizer, tokens: list[str]) -> Sparse:
    """One row of ``vectorizer.transform`` (sublinear tf × idf, L2-normalized) as (indices, values)."""
    vocabulary = vectorizer.vocabulary_
    counts: dict[int, int] = {}
    for token in tokens:
        i = vocabulary.get(token)
        if i is not None:
            counts[i] = counts.get(i, 0) + 1
    if not counts:
        return np.empty(0, dtype=np.intp), np.empty(0)
    idx = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
    values = (
        1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
    ) * vectorizer.idf_[idx]
    return idx, values / np.linalg.norm(values)
