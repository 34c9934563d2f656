from lib import *
y = TR["intents"]; classes = np.unique(y)
names = sys.argv[1].split(",")
P = {n: np.load(f"/tmp/exp9/oof_{n}.npy") for n in names}
for n in names: print(n, (classes[P[n].argmax(1)] == y).sum())
import itertools
for a, b in itertools.combinations(names, 2):
    for w in (0.3, 0.5, 0.7):
        p = w * P[a] + (1 - w) * P[b]
        print(a, b, w, (classes[p.argmax(1)] == y).sum())
