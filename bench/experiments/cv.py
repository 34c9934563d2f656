import json, os
from lib import *
configs = {
 "A": ([("mean", 4), ("mean", 5), ("mean", 6)], 2.0, 10),
 "B": ([("mean", 3), ("mean", 4), ("mean", 5), ("mean", 6)], 2.0, 10),
 "C": ([("mean", l) for l in range(1, 7)], 2.0, 10),
 "D": ([("mean", 4), ("mean", 5), ("mean", 6), ("max", 6)], 2.0, 10),
 "E": ([("mean", 4), ("mean", 5), ("mean", 6), ("cls", 5), ("cls", 6)], 2.0, 10),
 "F": ([("mean", 4), ("mean", 5), ("mean", 6)], 3.0, 10),
}
only = sys.argv[1].split(",")
y = TR["intents"]; texts = list(TR["texts"])
classes = np.unique(y)
for name in only:
    spec, w, c = configs[name]
    X = dense(TR, spec)
    oof = np.zeros((len(y), len(classes)))
    t = time.time()
    for tr, he in folds():
        ng = ngrams([texts[i] for i in tr])
        Xtr = sparse.hstack([sparse.csr_matrix(X[tr] * w), ng([texts[i] for i in tr])], format="csr")
        Xhe = sparse.hstack([sparse.csr_matrix(X[he] * w), ng([texts[i] for i in he])], format="csr")
        m = LogisticRegression(C=c, max_iter=2000).fit(Xtr, y[tr])
        oof[he] = m.predict_proba(Xhe)
    np.save(f"/tmp/exp9/oof_{name}.npy", oof)
    acc = (classes[oof.argmax(1)] == y).mean()
    print(json.dumps({"config": name, "right": int((classes[oof.argmax(1)] == y).sum()), "acc": round(acc, 4), "s": round(time.time() - t)}), flush=True)
