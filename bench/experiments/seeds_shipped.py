"""HWU64 test accuracy of the shipped classifier with its MLP head refit under other seeds."""
import json, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bot import nlu_data
from bot.embedded.classifier import IntentClassifier
from bot.embedded.mlp import MLPHead
H = Path("/work/shared/data/nlu/hwu64")
path = max(Path("/tmp/nlu-cache").glob("*.pkl"), key=lambda p: p.stat().st_mtime)
clf = IntentClassifier.load(path)
train, test = nlu_data.load(H / "train.yml"), nlu_data.load(H / "test.yml")
def score():
    parses = clf.parse_many([ex.text for ex in test], apply_threshold=False)
    return sum(p.intent == ex.intent for p, ex in zip(parses, test))
res = {"seed0": score()}
mlp0 = clf.mlp; clf.mlp = None; res["no_mlp"] = score()
emb = clf.heads[0].featurizer.encoder.encode([ex.text for ex in train])
for seed in (1, 2, 3):
    t = time.process_time()
    clf.mlp = MLPHead.fit(emb, [ex.intent for ex in train], clf.labels, seed=seed)
    res[f"seed{seed}"] = score(); res[f"seed{seed}_cpu_s"] = round(time.process_time() - t)
    print(json.dumps(res), flush=True)
