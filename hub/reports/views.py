"""Views: groups pre-merged for one UTC day (or an aligned block of days) and one *scope* (everything,
or one team / channel / agent / contact type / priority), so the dashboard reads a handful of small
documents by ``_id`` — the only query FerretDB's SQLite backend pushes down — instead of every group
or every ticket.

A view is a tree of dicts whose leaves are ints (counters, summed on merge), ``Dist`` (response
times) or ``Distinct`` (contacts). Both are exact while small and bounded when large, so a view of
a month is no bigger than a view of a day:

- ``Dist``: the sorted seconds while there are at most ``EXACT_TIMES`` of them (hand-checkable
  figures stay exact), else a histogram on fixed log buckets 2 % wide (median/p90 within 1 %).
- ``Distinct``: contact-id hashes while at most ``EXACT_IDS``, else a HyperLogLog sketch (~3 %).

Which form a merge ends in depends only on the merged values, never on the order or grouping of
the merge, so a roll-up (days and blocks merged) equals the on-the-fly computation (the same
``view_of`` over the range's groups). Packed: a JSON skeleton + one zlib'd buffer of arrays.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from .stats import LISTS, SLOT_S

View = dict[str, Any]
DIMS_SCOPED = ("team_id", "channel", "agent_id", "contact_type", "priority")
AGENT_LISTS = ("frt", "res", "nrt")


EXACT_TIMES = 64
EXACT_IDS = 256
RATIO = 1.02  # histogram bucket i ≥ 1 holds [RATIO**(i-1), RATIO**i) seconds; bucket 0 holds [0, 1)
LOG_RATIO = math.log(RATIO)
HLL_BITS = 10
HLL_M = 1 << HLL_BITS


class Dist:
    """Response times: exact sorted milliseconds, or a log histogram. Indexable like a sorted list of
    seconds (``d[k]`` = the k-th smallest; a bucket's geometric middle), so median/p90 work on both."""

    __slots__ = ("ms", "idx", "counts", "n", "_cum")

    def __init__(self, ms: np.ndarray | None = None, idx: np.ndarray | None = None,
                 counts: np.ndarray | None = None) -> None:
        self.ms, self.idx, self.counts = ms, idx, counts
        self.n = int(ms.size) if ms is not None else int(counts.sum()) if counts is not None else 0
        self._cum: np.ndarray | None = None

    @property
    def exact(self) -> np.ndarray | None:
        return None if self.ms is None else self.ms / 1000.0

    @classmethod
    def of(cls, values: Iterable[float]) -> Dist:
        ms = np.sort(np.rint(np.asarray(list(values), dtype=np.float64) * 1000).astype(np.int64))
        return cls.merged([cls(ms=ms)])

    @staticmethod
    def buckets(ms: np.ndarray) -> np.ndarray:
        out = np.zeros(ms.size, dtype=np.int64)
        big = ms >= 1000
        out[big] = 1 + np.floor(np.log(ms[big] / 1000.0) / LOG_RATIO).astype(np.int64)
        return out

    @classmethod
    def merged(cls, parts: list[Dist]) -> Dist:
        n = sum(p.n for p in parts)
        if n <= EXACT_TIMES:  # then every part is exact (a histogram only ever holds more)
            arrays = [p.ms for p in parts if p.ms is not None and p.ms.size]
            if len(arrays) == 1:
                return cls(ms=arrays[0])
            return cls(ms=np.sort(np.concatenate(arrays)) if arrays else np.empty(0, dtype=np.int64))
        idx, counts = [], []
        for p in parts:
            if p.ms is not None:
                if p.ms.size:
                    b = cls.buckets(p.ms)
                    idx.append(b)
                    counts.append(np.ones(b.size, dtype=np.int64))
            elif p.idx is not None and p.counts is not None:
                idx.append(p.idx)
                counts.append(p.counts)
        dense = np.bincount(np.concatenate(idx), weights=np.concatenate(counts)).astype(np.int64)
        nz = np.flatnonzero(dense)
        return cls(idx=nz.astype(np.int64), counts=dense[nz])

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, k: int) -> float:
        if self.ms is not None:
            return int(self.ms[k]) / 1000.0
        assert self.idx is not None and self.counts is not None
        if self._cum is None:
            self._cum = np.cumsum(self.counts)
        bucket = int(self.idx[int(np.searchsorted(self._cum, k + 1))])
        return 0.0 if bucket == 0 else round(RATIO ** (bucket - 1) * math.sqrt(RATIO), 3)


class Distinct:
    """Distinct contacts: exact 64-bit hashes, or a HyperLogLog sketch of ``HLL_M`` registers."""

    __slots__ = ("hashes", "registers")

    def __init__(self, hashes: np.ndarray | None = None, registers: np.ndarray | None = None) -> None:
        self.hashes, self.registers = hashes, registers

    @classmethod
    def of(cls, ids: Iterable[str]) -> Distinct:
        return cls(hashes=np.unique(np.asarray([contact_hash(c) for c in ids], dtype=np.uint64)))

    @staticmethod
    def sketch(hashes: np.ndarray) -> np.ndarray:
        reg = np.zeros(HLL_M, dtype=np.uint8)
        h = hashes.astype(np.uint64)
        j = (h >> np.uint64(64 - HLL_BITS)).astype(np.int64)
        rest = (h << np.uint64(HLL_BITS)) | np.uint64(1 << (HLL_BITS - 1))  # a sentinel bit bounds the rank
        rank = np.zeros(h.size, dtype=np.uint8)
        for bit in range(64 - HLL_BITS + 1):  # leading zeros + 1, vectorised over the hashes
            unset = (rank == 0) & ((rest >> np.uint64(63 - bit)) & np.uint64(1)).astype(bool)
            rank[unset] = bit + 1
        np.maximum.at(reg, j, rank)
        return reg

    @classmethod
    def merged(cls, parts: list[Distinct]) -> Distinct:
        hashes = [p.hashes for p in parts if p.hashes is not None and p.hashes.size]
        union = np.unique(np.concatenate(hashes)) if hashes else np.empty(0, dtype=np.uint64)
        sketches = [p.registers for p in parts if p.registers is not None]
        if not sketches and union.size <= EXACT_IDS:
            return cls(hashes=union)
        reg = cls.sketch(union)
        for r in sketches:
            np.maximum(reg, r, out=reg)
        return cls(registers=reg)

    def __len__(self) -> int:
        if self.hashes is not None:
            return int(self.hashes.size)
        assert self.registers is not None
        m = HLL_M
        estimate = 0.7213 / (1 + 1.079 / m) * m * m / float(np.sum(2.0 ** -self.registers.astype(np.float64)))
        zeros = int(np.count_nonzero(self.registers == 0))
        if estimate <= 2.5 * m and zeros:
            estimate = m * math.log(m / zeros)  # small-range correction (linear counting)
        return round(estimate)


def contact_hash(contact_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(contact_id.encode(), digest_size=8).digest(), "little")


def _key(value: Any) -> str:
    return "" if value is None else str(value)


def _counts(d: dict[str, int] | None) -> dict[str, int]:
    return dict(d or {})


def view_of(groups: Iterable[dict[str, Any]]) -> View:
    """One view from (already selected) groups."""
    return merge(_group_view(g) for g in groups)


def _group_view(g: dict[str, Any]) -> View:
    csat = _counts(g.get("csat"))
    sla = _counts(g.get("sla"))
    return {
        "n": g["n"], "resolved": g["resolved"], "csat_sent": g["csat_sent"], "bot_engaged": g["bot_engaged"],
        "bot_deflected": g["bot_deflected"], "csat": csat, "handoffs": _counts(g.get("handoffs")), "sla": sla,
        **{k: Dist.of(g.get(k, ())) for k in LISTS},
        "slots": {str(int(g["hour"].timestamp()) // SLOT_S): g["n"]},  # volume per quarter hour
        "channels": {_key(g["channel"]): g["n"]},
        "sla_by": {"priority": {_key(g["priority"]): sla}, "team_id": {_key(g["team_id"]): sla}},
        "agents": {_key(g["agent_id"]): {"n": g["n"], "resolved": g["resolved"], "csat": csat,
                                         **{k: Dist.of(g.get(k, ())) for k in AGENT_LISTS}}},
        "ctypes": {_key(g["contact_type"]): {"n": g["n"], "resolved": g["resolved"], "csat": csat,
                                             "contacts": Distinct.of(g.get("contacts", ()))}},
    }


def merge(views: Iterable[View]) -> View:
    """The sum of views (exact: arrays are concatenated, times sorted, contacts unioned)."""
    acc: dict[str, Any] = {}
    for v in views:
        _add(acc, v)
    out = _finish(acc)
    for key in ("n", "resolved", "csat_sent", "bot_engaged", "bot_deflected"):
        out.setdefault(key, 0)
    for key in LISTS:
        out.setdefault(key, Dist.of(()))
    for key in ("csat", "handoffs", "sla", "slots", "channels", "agents", "ctypes"):
        out.setdefault(key, {})
    out.setdefault("sla_by", {"priority": {}, "team_id": {}})
    return out


def _add(acc: dict[str, Any], v: View) -> None:
    for key, value in v.items():
        if isinstance(value, dict):
            _add(acc.setdefault(key, {}), value)
        elif isinstance(value, (Dist, Distinct)):
            acc.setdefault(key, []).append(value)
        else:
            acc[key] = acc.get(key, 0) + value


def _finish(acc: dict[str, Any]) -> View:
    out: View = {}
    for key, value in acc.items():
        if isinstance(value, dict):
            out[key] = _finish(value)
        elif isinstance(value, list):
            out[key] = value[0] if len(value) == 1 else type(value[0]).merged(value)
        else:
            out[key] = value
    return out


# --- packing --------------------------------------------------------------------------------------

def pack(view: View) -> bytes:
    chunks: list[bytes] = []

    def put(arr: np.ndarray) -> int:
        chunks.append(arr.tobytes())
        return int(arr.size)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):  # sorted: unpack reads the arrays back in the same order
            return {k: walk(v) for k, v in sorted(node.items())}
        if isinstance(node, Dist):
            if node.ms is not None:  # seconds with 3 decimals: exact as milliseconds
                return {"@": "t", "n": put(node.ms)}
            assert node.idx is not None and node.counts is not None
            return {"@": "h", "n": put(node.idx.astype(np.int64)), "c": put(node.counts.astype(np.int64))}
        if isinstance(node, Distinct):
            if node.hashes is not None:
                return {"@": "u", "n": put(node.hashes)}
            assert node.registers is not None
            return {"@": "r", "n": put(node.registers.astype(np.int64))}
        return node

    skeleton = json.dumps(walk(view), sort_keys=True, separators=(",", ":")).encode()
    return zlib.compress(struct.pack("<I", len(skeleton)) + skeleton + b"".join(chunks), 6)


def unpack(blob: bytes) -> View:
    raw = zlib.decompress(blob)
    (size,) = struct.unpack_from("<I", raw)
    skeleton = json.loads(raw[4:4 + size])
    offset = 4 + size

    def take(n: int, dtype: Any = np.int64) -> np.ndarray:
        nonlocal offset
        arr = np.frombuffer(raw, dtype=dtype, count=n, offset=offset)
        offset += 8 * n
        return arr

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            kind = node.get("@")
            if kind == "t":
                return Dist(ms=take(node["n"]))
            if kind == "h":
                idx = take(node["n"])
                return Dist(idx=idx, counts=take(node["c"]))
            if kind == "u":
                return Distinct(hashes=take(node["n"], np.uint64))
            if kind == "r":
                return Distinct(registers=take(node["n"]).astype(np.uint8))
            return {k: walk(v) for k, v in node.items()}  # already in pack's (sorted) order
        return node

    return walk(skeleton)  # type: ignore[no-any-return]


__all__ = ["DIMS_SCOPED", "Dist", "Distinct", "View", "contact_hash", "merge", "pack", "unpack", "view_of"]
