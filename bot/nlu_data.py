"""Read Rasa NLU training data into plain examples: YAML (``version: "3.1"``, ``nlu: - intent: …
examples: |``) and Rasa's JSON format (``{"rasa_nlu_data": {"common_examples": […]}}``).

Both engines train from the same files: Rasa reads them itself, the embedded engine through this
module. Entity annotations become plain text plus spans: ``[BE-12345](booking_ref)``,
``[today]{"entity": "date", "value": "2026-01-01"}`` and a list of them on one span
(``[Berlin][{"entity": "city"}, {"entity": "city", "role": "to"}]``). Regex, synonym and lookup
blocks are skipped. YAML is read as Rasa reads it (YAML 1.2, see ``_Loader``). A file that cannot be
read raises `NLUDataError` naming the file and, for YAML, the line; what Rasa skips with a warning
(an intent without examples, a line of an ``examples`` block not starting with ``-``) is skipped
with a logged warning naming the file and line.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

log = logging.getLogger(__name__)
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


class _Map(dict):  # type: ignore[type-arg]
    """A YAML mapping that knows where it is: ``line`` (1-based) and each value's first line."""

    line = 0
    lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    """YAML as Rasa reads it (ruamel, YAML 1.2), not PyYAML's 1.1: there ``- intent: yes`` is the
    intent "yes" and ``- text: no`` the example "no" (1.1: True and False, so "True"/"False"),
    ``12:30`` is text (1.1: 750). Plain scalars stay the text written, but for null (every field
    read here is text). A key given twice in one mapping is an error, as in Rasa: PyYAML keeps the
    last one and silently drops the other (a second ``nlu:`` dropped every block of the first)."""

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping", node.start_mark, f"found duplicate key {key.value!r}",
                        key.start_mark)
                seen.add(key.value)
        return super().construct_mapping(node, deep)


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[_Map]:
    data = _Map()
    data.line = node.start_mark.line + 1
    data.lines = {str(k.value): v.start_mark.line + 1 + (getattr(v, "style", None) in ("|", ">"))
                  for k, v in node.value if isinstance(k, yaml.ScalarNode)}
    yield data
    data.update(loader.construct_mapping(node))


_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"),
                              ["~", "n", "N", ""])
_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def _where(path: Path, block: object, key: str | None = None) -> str:
    if not isinstance(block, _Map):
        return str(path)
    return f"{path}:{block.lines.get(key, block.line) if key else block.line}"


def _lines(path: Path, block: dict[str, object], intent: str) -> list[str]:
    """An intent's example texts (annotated): an ``examples: |`` block of ``- …`` lines, or the list
    form (``- text: …`` with optional ``metadata``)."""
    examples = block.get("examples")
    if examples is None:
        return []
    if isinstance(examples, str):
        texts, skipped = [], []
        for i, raw in enumerate(examples.splitlines()):
            line = raw.strip()
            if line.startswith("-"):  # as Rasa reads it: "-hi" is "hi"
                texts.append(line[1:].strip())
            elif line:
                skipped.append(i)
        if skipped:  # Rasa skips these too, with a warning
            first = f"{path}:{block.lines['examples'] + skipped[0]}" if isinstance(block, _Map) else str(path)
            log.warning("%s: %d line(s) of intent %r do not start with '-' and are skipped, the first: %r",
                        first, len(skipped), intent, examples.splitlines()[skipped[0]].strip()[:80])
        return texts
    if isinstance(examples, list):
        texts = []
        for item in examples:
            if item is None:
                continue
            text = item.get("text") if isinstance(item, dict) else item
            if not isinstance(text, str):  # a number or a date written with an explicit tag: as written
                if isinstance(text, (dict, list)) or text is None:
                    raise NLUDataError(f"{_where(path, item)}: an example of intent {intent!r} has no text "
                                       f"(expected '- text: …', found {item!r:.80})")
                text = str(text)
            texts.append(text)
        return texts
    raise NLUDataError(f"{_where(path, block, 'examples')}: the examples of intent {intent!r} must be a "
                       f"block of '- ' lines or a list of '- text: …', found a {type(examples).__name__}")


def load_file(path: Path, *, found_in_directory: bool = False) -> list[Example]:
    """``found_in_directory``: the file was not named, a directory holding it was: one whose top
    level is not a mapping (a JSON list such as ``rasa test``'s ``intent_errors.json``) is not NLU
    data and is skipped with a warning, as Rasa skips what is not NLU data. Named, it is an error."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: files saved with a byte-order mark
        doc = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_Loader)  # noqa: S506
    except UnicodeDecodeError as exc:
        raise NLUDataError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise NLUDataError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise NLUDataError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise NLUDataError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from exc
    if doc is None:
        return []
    if not isinstance(doc, dict):
        if found_in_directory:
            log.warning("%s: not NLU data (a %s, not a mapping): skipped", path, type(doc).__name__)
            return []
        hint = " (Rasa 2 Markdown is not read: `rasa data convert nlu` makes YAML of it)" \
            if path.suffix == ".md" else ""
        raise NLUDataError(f"{path}: expected a mapping with an 'nlu' list, "
                           f"found a {type(doc).__name__}{hint}")
    if "rasa_nlu_data" in doc:
        return _json_examples(path, doc["rasa_nlu_data"])
    blocks = doc.get("nlu") or []
    if not isinstance(blocks, list):
        raise NLUDataError(f"{path}: 'nlu' must be a list of blocks, found a {type(blocks).__name__}")
    examples: list[Example] = []
    for block in blocks:
        if not isinstance(block, dict):  # Rasa skips these too, with a warning
            log.warning("%s: an item of 'nlu' is not a block (intent, synonym, regex or lookup): %r skipped",
                        path, block)
            continue
        if "intent" not in block:
            if not {"synonym", "regex", "lookup"} & block.keys():
                log.warning("%s: a block with neither intent, synonym, regex nor lookup is skipped",
                            _where(path, block))
            continue
        intent = block["intent"]
        if not isinstance(intent, str) or not intent.strip():
            raise NLUDataError(f"{_where(path, block)}: an intent block needs a name, found {intent!r:.80}")
        intent = intent.strip()
        found = [parse_annotated(line, intent) for line in _lines(path, block, intent)]
        found = [ex for ex in found if ex.text]
        if not found:  # as Rasa does: say so (an intent left empty by mistake)
            log.warning("%s: intent %r has no examples", _where(path, block), intent)
        examples.extend(found)
    return examples


def _json_examples(path: Path, data: object) -> list[Example]:
    """Rasa's JSON format: entities are given as character spans, not annotations. An example
    without text or intent is skipped, as Rasa does; one of the wrong shape is an error naming it."""
    rows = data.get("common_examples") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise NLUDataError(f"{path}: 'rasa_nlu_data' needs a 'common_examples' list")
    examples = []
    for i, row in enumerate(rows):
        where = f"{path}: common_examples[{i}]"
        if not isinstance(row, dict):
            raise NLUDataError(f"{where} is not an object: {row!r:.80}")
        for key, kind in (("text", str), ("intent", str), ("entities", list)):
            if row.get(key) is not None and not isinstance(row[key], kind):
                raise NLUDataError(f"{where}: '{key}' must be a {'list' if kind is list else 'string'}, "
                                   f"found {row[key]!r:.80}")
        if not (row.get("text") or "").strip() or not row.get("intent"):
            continue
        text = row["text"]
        stripped = text.strip()
        shift = text.index(stripped)
        entities = tuple(
            Entity(e["entity"], str(text[e["start"]:e["end"]] if e.get("value") is None else e["value"]),
                   e["start"] - shift, e["end"] - shift)
            for e in row.get("entities") or []
            if isinstance(e, dict) and isinstance(e.get("entity"), str) and _offset(e.get("start"))
            and _offset(e.get("end")) and 0 <= e["start"] - shift < e["end"] - shift <= len(stripped))
        examples.append(Example(stripped, row["intent"].strip(), entities))
    return examples


def _offset(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def load(path: Path | str) -> list[Example]:
    """One file, or every ``*.yml``/``*.yaml``/``*.json`` under a directory (files without NLU data,
    such as a domain or a story file, give none; see ``load_file`` for one that is not a mapping)."""
    path = Path(path)
    patterns = ("*.yml", "*.yaml", "*.json")
    if not path.is_dir():
        return load_file(path)
    files = sorted(f for pattern in patterns for f in path.rglob(pattern) if f.is_file())
    return [ex for f in files for ex in load_file(f, found_in_directory=True)]


def split(
    examples: list[Example], test_fraction: float = 0.2, seed: int = 7
) -> tuple[list[Example], list[Example]]:
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
