import json
import torch
from torch import nn
from lib import *
torch.set_num_threads(1)
name = sys.argv[1]
specs = {"m456": [("mean", 4), ("mean", 5), ("mean", 6)],
         "mall": [("mean", l) for l in range(1, 7)] + [("max", 6), ("cls", 6)]}
spec = specs[sys.argv[2]]
hidden = int(sys.argv[3]); drop = float(sys.argv[4]); epochs = int(sys.argv[5])
SEED = int(sys.argv[7]) if len(sys.argv) > 7 else 0
y = TR["intents"]; classes = np.unique(y); yi = np.searchsorted(classes, y)
X = dense(TR, spec).astype(np.float32)

def fit_predict(Xa, ya, Xb, seed=None):
    seed = SEED if seed is None else seed
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Dropout(0.1), nn.Linear(Xa.shape[1], hidden), nn.GELU(), nn.Dropout(drop), nn.Linear(hidden, len(classes)))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    xa, ya_t = torch.from_numpy((Xa * np.sqrt(len(spec))).astype(np.float32)), torch.from_numpy(ya)
    steps = epochs * ((len(xa) + 63) // 64); sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        for idx in torch.randperm(len(xa), generator=g).split(64):
            loss = loss_fn(net(xa[idx]), ya_t[idx]); opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    net.eval()
    with torch.no_grad():
        return torch.softmax(net(torch.from_numpy((Xb * np.sqrt(len(spec))).astype(np.float32))), -1).numpy()

t = time.time()
if len(sys.argv) > 6 and sys.argv[6] == "test":
    p = fit_predict(X, yi, dense(TE, spec).astype(np.float32))
    np.save(f"/tmp/exp9/test_{name}.npy", p)
    print(json.dumps({"config": name, "test_right": int((classes[p.argmax(1)] == TE["intents"]).sum()), "s": round(time.time() - t)}))
    sys.exit()
oof = np.zeros((len(y), len(classes)))
for tr, he in folds():
    oof[he] = fit_predict(X[tr], yi[tr], X[he])
np.save(f"/tmp/exp9/oof_{name}.npy", oof)
print(json.dumps({"config": name, "right": int((classes[oof.argmax(1)] == y).sum()), "acc": round((classes[oof.argmax(1)] == y).mean(), 4), "s": round(time.time() - t)}), flush=True)
