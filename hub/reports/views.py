"""Views: groups pre-merged for one UTC day and one *scope* (everything, or one team / channel / agent /
contact type / priority), so the dashboard reads a handful of small documents by ``_id`` — the only
query FerretDB's SQLite backend pushes down — instead of every group or every ticket.

A view is a tree of dicts whose leaves are ints (counters, summed on merge) or numpy arrays:
``float64`` arrays of seconds (concatenated and sorted on merge, so medians and p90s of any range
stay exact, not estimated) and ``uint64`` arrays of contact-id hashes (unioned, for distinct
contacts). ``view_of(groups)`` builds one from groups; ``merge`` adds views; the figures read views.
The on-the-fly path builds its view with the same ``view_of``, so both paths agree by construction.

Stored packed: a JSON skeleton (arrays replaced by references) + one zlib'd buffer in which sorted
times are stored as millisecond deltas (small integers: compress ~4×).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from .stats import LISTS

View = dict[str, Any]
DIMS_SCOPED = ("team_id", "channel", "agent_id", "contact_type", "priority")
AGENT_LISTS = ("frt", "res", "nrt")


def contact_hash(contact_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(contact_id.encode(), digest_size=8).digest(), "little")


def _times(values: Iterable[float]) -> np.ndarray:
    return np.sort(np.asarray(list(values), dtype=np.float64))


def _ids(ids: Iterable[str]) -> np.ndarray:
    return np.unique(np.asarray([contact_hash(c) for c in ids], dtype=np.uint64))


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
        **{k: _times(g.get(k, ())) for k in LISTS},
        "hours": {str(int(g["hour"].timestamp()) // 3600): g["n"]},
        "channels": {_key(g["channel"]): g["n"]},
        "sla_by": {"priority": {_key(g["priority"]): sla}, "team_id": {_key(g["team_id"]): sla}},
        "agents": {_key(g["agent_id"]): {"n": g["n"], "resolved": g["resolved"], "csat": csat,
                                         **{k: _times(g.get(k, ())) for k in AGENT_LISTS}}},
        "ctypes": {_key(g["contact_type"]): {"n": g["n"], "resolved": g["resolved"], "csat": csat,
                                             "contacts": _ids(g.get("contacts", ()))}},
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
        out.setdefault(key, np.empty(0, dtype=np.float64))
    for key in ("csat", "handoffs", "sla", "hours", "channels", "agents", "ctypes"):
        out.setdefault(key, {})
    out.setdefault("sla_by", {"priority": {}, "team_id": {}})
    return out


def _add(acc: dict[str, Any], v: View) -> None:
    for key, value in v.items():
        if isinstance(value, dict):
            _add(acc.setdefault(key, {}), value)
        elif isinstance(value, np.ndarray):
            acc.setdefault(key, []).append(value)
        else:
            acc[key] = acc.get(key, 0) + value


def _finish(acc: dict[str, Any]) -> View:
    out: View = {}
    for key, value in acc.items():
        if isinstance(value, dict):
            out[key] = _finish(value)
        elif isinstance(value, list):
            arr = value[0] if len(value) == 1 else np.concatenate(value)
            out[key] = np.unique(arr) if arr.dtype == np.uint64 else (arr if len(value) == 1 else np.sort(arr))
        else:
            out[key] = value
    return out


# --- packing --------------------------------------------------------------------------------------

def pack(view: View) -> bytes:
    chunks: list[bytes] = []

    def walk(node: Any) -> Any:
        if isinstance(node, dict):  # sorted: unpack reads the arrays back in the same order
            return {k: walk(v) for k, v in sorted(node.items())}
        if isinstance(node, np.ndarray):
            if node.dtype == np.uint64:
                raw = node.tobytes()
                kind = "u"
            else:  # sorted seconds with at most 3 decimals → exact millisecond deltas
                ms = np.rint(node * 1000).astype(np.int64)
                raw = np.diff(ms, prepend=np.int64(0)).tobytes()
                kind = "t"
            chunks.append(raw)
            return {"@": kind, "n": int(node.size)}
        return node

    skeleton = json.dumps(walk(view), sort_keys=True, separators=(",", ":")).encode()
    return zlib.compress(struct.pack("<I", len(skeleton)) + skeleton + b"".join(chunks), 6)


def unpack(blob: bytes) -> View:
    raw = zlib.decompress(blob)
    (size,) = struct.unpack_from("<I", raw)
    skeleton = json.loads(raw[4:4 + size])
    offset = 4 + size

    def walk(node: Any) -> Any:
        nonlocal offset
        if isinstance(node, dict):
            if "@" in node and "n" in node and len(node) == 2:
                n = node["n"]
                data = np.frombuffer(raw, dtype=np.int64 if node["@"] == "t" else np.uint64, count=n, offset=offset)
                offset += 8 * n
                return np.cumsum(data) / 1000.0 if node["@"] == "t" else data
            return {k: walk(v) for k, v in sorted(node.items())}
        return node

    return walk(skeleton)  # type: ignore[no-any-return]


__all__ = ["DIMS_SCOPED", "View", "contact_hash", "merge", "pack", "unpack", "view_of"]
