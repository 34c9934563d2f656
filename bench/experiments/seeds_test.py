import os
from lib import *
y = TE["intents"]; classes = np.unique(TR["intents"])
base = np.load("/tmp/exp9/base_proba.npy")
ms = [np.load("/tmp/exp9/test_M2.npy")] + [np.load(f"/tmp/exp9/test_M2s{s}.npy") for s in range(1, 5) if os.path.exists(f"/tmp/exp9/test_M2s{s}.npy")]
r = lambda p: int((classes[p.argmax(1)] == y).sum())
print("LR", r(base))
for i, m in enumerate(ms): print("seed", i, "alone", r(m), "LR+", r(0.5 * base + 0.5 * m))
for k in range(2, len(ms) + 1):
    m = np.mean(ms[:k], 0); print("ens", k, "alone", r(m), "LR+", r(0.5 * base + 0.5 * m))
