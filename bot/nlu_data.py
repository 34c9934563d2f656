"""Read Rasa NLU training data into plain examples: YAML (``version: "3.1"``, ``nlu: - intent: …
examples: |``) and Rasa's JSON format (``{"rasa_nlu_data": {"common_examples": […]}}``).

Both engines train from the same files: Rasa reads them itself, the embedded engine through this
module. Entity annotations become plain text plus spans: ``[BE-12345](booking_ref)`` and
``[today]{"entity": "date", "value": "2026-01-01"}`` and a list of them on one span
(``[Berlin][{"entity": "city"}, {"entity": "city", "role": "to"}]``). Regex, synonym and lookup
blocks are skipped.
A file that cannot be read raises `NLUDataError` naming the file and, for YAML, the line.
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

OUT_OF_SCOPE = frozenset({"out_of_scope", "nlu_fallback"})


class NLUDataError(ValueError):
    """A training or test file that is not readable NLU data."""


def is_out_of_scope(intent: str) -> bool:
    """``out_of_scope``, ``nlu_fallback``, or a retrieval intent of theirs (``out_of_scope/other``:
    Rasa's ``base/key`` form, where the key picks a response and the base is the intent)."""
    return intent.partition("/")[0] in OUT_OF_SCOPE


# [text](name) or [text](name:value), [text]{"entity": …}, [text][{"entity": …}, {"entity": …}]
_ANNOTATION = re.compile(
    r"\[(?P<text>[^\]]+)\](?:\((?P<name>[^)]+)\)|(?P<json>\{[^}]*\})|\[(?P<list>\s*\{[^\]]*)\])")


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str
    start: int
    end: int


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[Entity, ...] = field(default_factory=tuple)


def parse_annotated(line: str, intent: str) -> Example:
    """``book [BE-12345](booking_ref) pls`` → text ``book BE-12345 pls`` with one entity span."""
    out: list[str] = []
    entities: list[Entity] = []
    pos = 0
    length = 0
    for match in _ANNOTATION.finditer(line):
        before = line[pos:match.start()]
        out.append(before)
        length += len(before)
        text = match.group("text")
        if match.group("name"):
            name, _, value = match.group("name").partition(":")
            entities.append(Entity(name, value or text, length, length + len(text)))
        else:
            raw = match.group("json") or f"[{match.group('list')}]"
            try:
                meta = json.loads(raw)
            except json.JSONDecodeError:
                meta = {}
            for one in meta if isinstance(meta, list) else [meta]:
                if isinstance(one, dict):
                    entities.append(Entity(str(one.get("entity", "")), str(one.get("value", text)),
                                           length, length + len(text)))
        out.append(text)
        length += len(text)
        pos = match.end()
    out.append(line[pos:])
    return Example("".join(out).strip(), intent, tuple(entities))


def _lines(block: object) -> list[str]:
    if isinstance(block, str):
        return [ln.strip()[2:].strip() for ln in block.splitlines() if ln.strip().startswith("- ")]
    if isinstance(block, list):  # the list form: - text: "…"
        return [str(item.get("text", "")) if isinstance(item, dict) else str(item) for item in block]
    return []


def load_file(path: Path) -> list[Example]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: files saved with a byte-order mark
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise NLUDataError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise NLUDataError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise NLUDataError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from exc
    if doc is None:
        return []
    if not isinstance(doc, dict):
        raise NLUDataError(f"{path}: expected a mapping with an 'nlu' list, found a {type(doc).__name__}")
    if "rasa_nlu_data" in doc:
        return _json_examples(path, doc["rasa_nlu_data"])
    blocks = doc.get("nlu") or []
    if not isinstance(blocks, list):
        raise NLUDataError(f"{path}: 'nlu' must be a list of blocks, found a {type(blocks).__name__}")
    examples: list[Example] = []
    for block in blocks:
        if not isinstance(block, dict) or "intent" not in block:
            continue
        intent = str(block["intent"])
        examples.extend(parse_annotated(line, intent) for line in _lines(block.get("examples")) if line)
    return examples


def _json_examples(path: Path, data: object) -> list[Example]:
    """Rasa's JSON format: entities are given as character spans, not annotations."""
    rows = data.get("common_examples") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise NLUDataError(f"{path}: 'rasa_nlu_data' needs a 'common_examples' list")
    examples = []
    for row in rows:
        if not isinstance(row, dict) or not str(row.get("text") or "").strip() or not row.get("intent"):
            continue
        text = str(row["text"])
        stripped = text.strip()
        shift = text.index(stripped)
        entities = tuple(
            Entity(str(e["entity"]), str(e.get("value", text[e["start"]:e["end"]])),
                   e["start"] - shift, e["end"] - shift)
            for e in row.get("entities") or []
            if isinstance(e, dict) and "entity" in e and isinstance(e.get("start"), int)
            and isinstance(e.get("end"), int) and 0 <= e["start"] - shift < e["end"] - shift <= len(stripped))
        examples.append(Example(stripped, str(row["intent"]), entities))
    return examples


def load(path: Path | str) -> list[Example]:
    """One file, or every ``*.yml``/``*.yaml``/``*.json`` under a directory (files without NLU data,
    such as a domain or a story file, give none)."""
    path = Path(path)
    patterns = ("*.yml", "*.yaml", "*.json")
    files = sorted(f for pattern in patterns for f in path.rglob(pattern)) if path.is_dir() else [path]
    return [ex for f in files for ex in load_file(f)]


def split(examples: list[Example], test_fraction: float = 0.2, seed: int = 7) -> tuple[list[Example], list[Example]]:
    """Stratified split: every intent keeps at least one training example."""
    by_intent: dict[str, list[Example]] = defaultdict(list)
    for ex in examples:
        by_intent[ex.intent].append(ex)
    rng = random.Random(seed)
    train: list[Example] = []
    test: list[Example] = []
    for intent in sorted(by_intent):
        items = by_intent[intent][:]
        rng.shuffle(items)
        n_test = min(len(items) - 1, round(len(items) * test_fraction))
        test.extend(items[:n_test])
        train.extend(items[n_test:])
    return train, test


def dump(examples: list[Example], path: Path) -> None:
    """Write examples back as Rasa NLU YAML (entities re-annotated), e.g. a held-out split."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for ex in examples:
        text = ex.text
        spans: dict[tuple[int, int], list[Entity]] = defaultdict(list)  # several entities on one span: a list
        for ent in ex.entities:
            spans[ent.start, ent.end].append(ent)
        for (start, end), ents in sorted(spans.items(), reverse=True):
            span = text[start:end]
            dicts = [{"entity": e.entity, **({"value": e.value} if e.value != span else {})} for e in ents]
            ann = f"[{span}]({ents[0].entity})" if dicts == [{"entity": ents[0].entity}] else \
                f"[{span}]{json.dumps(dicts[0], ensure_ascii=False)}" if len(dicts) == 1 else \
                f"[{span}]{json.dumps(dicts, ensure_ascii=False)}"
            text = text[:start] + ann + text[end:]
        by_intent[ex.intent].append(text)
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in by_intent.items():
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {t}" for t in texts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
