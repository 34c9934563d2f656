"""Interleaved per-message parse CPU time of the HWU64 classifier with and without its MLP head."""
import json, random, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bot import nlu_data
from bot.embedded.classifier import IntentClassifier
path = max(Path("/tmp/nlu-cache").glob("*.pkl"), key=lambda p: p.stat().st_mtime)
clf = IntentClassifier.load(path)
mlp = clf.mlp
texts = [ex.text for ex in nlu_data.load(Path("/work/shared/data/nlu/hwu64/test.yml"))]
random.Random(0).shuffle(texts)
out = {"with": [], "without": [], "mlp_only": []}
for t in texts[:400]:
    for key in ("with", "without"):
        clf.mlp = mlp if key == "with" else None
        c = time.process_time(); clf.parse(t); out[key].append(1000 * (time.process_time() - c))
    emb = clf.featurizer.encoder.encode([t]) if hasattr(clf, "featurizer") else clf.heads[0].featurizer.encoder.encode([t])
    c = time.perf_counter(); mlp.probs(emb); out["mlp_only"].append(1000 * (time.perf_counter() - c))
pct = lambda v, q: round(sorted(v)[int(len(v) * q)], 2)
print(json.dumps({k: {"p50": pct(v, .5), "p95": pct(v, .95)} for k, v in out.items()}))
