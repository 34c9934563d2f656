import sys, time, numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

def load(name):
    d = np.load(f"/tmp/exp9/{name}.npz")
    return {k: d[k] for k in d.files}
TR, TE = load("train"), load("test")

def dense(d, spec):
    """spec: list of ('mean', layer) / ('max', layer) / ('cls', layer)"""
    parts = []
    for kind, layer in spec:
        if kind == "mean": parts.append(d["mean"][:, (layer - 1) * 384: layer * 384])
        else: parts.append(d[kind][:, (layer - 4) * 384: (layer - 3) * 384])
    x = np.concatenate(parts, 1)
    return x / np.sqrt(len(spec))  # each part unit: total unit

def ngrams(train_texts):
    w = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True).fit(train_texts)
    c = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, lowercase=True).fit(train_texts)
    return lambda t: sparse.hstack([w.transform(t), c.transform(t)], format="csr")

def folds(k=5):
    y = TR["intents"]
    return list(StratifiedKFold(k, shuffle=True, random_state=0).split(y, y))
