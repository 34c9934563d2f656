from lib import *
spec = [("mean", 4), ("mean", 5), ("mean", 6)]
t = time.time()
ng = ngrams(list(TR["texts"]))
# production: each layer unit, times 2.0 weight (no sqrt(3) division)
Xtr = sparse.hstack([sparse.csr_matrix(dense(TR, spec) * 2.0), ng(list(TR["texts"]))], format="csr")
Xte = sparse.hstack([sparse.csr_matrix(dense(TE, spec) * 2.0), ng(list(TE["texts"]))], format="csr")
m = LogisticRegression(C=10, max_iter=2000).fit(Xtr, TR["intents"])
p = m.predict(Xte)
print("right", (p == TE["intents"]).sum(), len(p), time.time() - t)
np.save("/tmp/exp9/base_proba.npy", m.predict_proba(Xte))
