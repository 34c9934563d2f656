import sys, time, numpy as np
sys.path.insert(0, "/work/main")
from bot import nlu_data
import torch
torch.set_num_threads(2)
from bot.embedded.encoder import MiniLM
MODEL = MiniLM()
def hidden(texts, L, max_length=64):
    b = MODEL.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.inference_mode():
        out = MODEL.encoder(input_ids=b["input_ids"], attention_mask=b["attention_mask"], output_hidden_states=True)
    return [out.hidden_states[k].numpy() for k in L], b["attention_mask"].numpy()
L = (1, 2, 3, 4, 5, 6)
for name in ("train", "test"):
    ex = nlu_data.load(f"/work/shared/data/nlu/hwu64/{name}.yml")
    texts = [e.text[:1000] for e in ex]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    mean = np.zeros((len(texts), 384 * 6), np.float32); mx = np.zeros((len(texts), 384 * 3), np.float32)
    cls = np.zeros((len(texts), 384 * 3), np.float32)
    t = time.time()
    for s in range(0, len(order), 64):
        rows = order[s:s + 64]
        states, mask = hidden([texts[i] for i in rows], L, max_length=64)
        w = mask[..., None].astype(np.float32)
        parts, mparts, cparts = [], [], []
        for k, st in enumerate(states):
            v = (st * w).sum(1) / np.maximum(w.sum(1), 1)
            parts.append(v / np.linalg.norm(v, axis=1, keepdims=True))
            if L[k] >= 4:
                m = np.where(w > 0, st, -1e9).max(1)
                mparts.append(m / np.linalg.norm(m, axis=1, keepdims=True))
                c = st[:, 0]
                cparts.append(c / np.linalg.norm(c, axis=1, keepdims=True))
        mean[rows] = np.concatenate(parts, 1); mx[rows] = np.concatenate(mparts, 1); cls[rows] = np.concatenate(cparts, 1)
    print(name, len(texts), time.time() - t, flush=True)
    np.savez(f"/tmp/exp9/{name}.npz", mean=mean, max=mx, cls=cls, texts=np.array(texts), intents=np.array([e.intent for e in ex]))
