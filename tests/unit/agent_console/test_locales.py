"""Every console locale file translates the same keys as English, keeps each string's {placeholders},
and is offered by the language picker (agent_console/static/js/i18n.js)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[3] / "agent_console" / "static"
LOCALES = sorted((STATIC / "locales").glob("*.json"))
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def strings(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert all(isinstance(v, str) and v.strip() for v in data.values()), path.name
    return data


def test_there_is_a_second_language_and_the_picker_offers_every_file() -> None:
    codes = {p.stem for p in LOCALES}
    assert {"en", "af"} <= codes
    offered = re.search(r"LANGUAGES = \{([^}]*)\}", (STATIC / "js" / "i18n.js").read_text()).group(1)
    assert set(re.findall(r"(\w+):", offered)) == codes


@pytest.mark.parametrize("path", [p for p in LOCALES if p.stem != "en"], ids=lambda p: p.stem)
def test_a_translation_has_every_key_and_the_same_placeholders(path: Path) -> None:
    english, other = strings(STATIC / "locales" / "en.json"), strings(path)
    assert sorted(set(english) ^ set(other)) == []
    for key, text in english.items():
        assert sorted(PLACEHOLDER.findall(other[key])) == sorted(PLACEHOLDER.findall(text)), key
    untranslated = [k for k, v in other.items() if v == english[k] and len(v) > 8]
    assert untranslated == [], untranslated  # short ones (SMS, API, Status) may be the same word
