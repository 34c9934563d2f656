"""Every help-center language has every interface string and category name English has, and every
string a template uses exists: a missing one would silently show English (or fail to render)."""

from __future__ import annotations

import re

import pytest

from knowledge_base.helpcenter.i18n import CATEGORY_NAMES, LANGUAGES, STRINGS, category_name
from knowledge_base.helpcenter.views import HERE


@pytest.mark.parametrize("locale", sorted(LANGUAGES))
def test_every_language_has_every_string(locale: str) -> None:
    assert locale in STRINGS
    missing = sorted(set(STRINGS["en"]) - set(STRINGS[locale]))
    extra = sorted(set(STRINGS[locale]) - set(STRINGS["en"]))
    assert missing == [] and extra == []
    assert all(v.strip() for v in STRINGS[locale].values())


@pytest.mark.parametrize("locale", sorted(LANGUAGES))
def test_every_language_names_every_category(locale: str) -> None:
    assert sorted(CATEGORY_NAMES[locale]) == sorted(CATEGORY_NAMES["en"])


def test_templates_use_only_known_strings() -> None:
    used = set()
    for template in (HERE / "templates").glob("*.html"):
        text = template.read_text()
        used |= set(re.findall(r"\bt\.([a-z_]+)", text)) | set(re.findall(r"\bt\[\"([a-z_]+)\"\]", text))
    assert used and sorted(used - set(STRINGS["en"])) == []


def test_category_names_are_translated_with_fallbacks() -> None:
    assert category_name("refunds-and-cancellations", "af") == "Terugbetalings en kansellasies"
    assert category_name("refunds-and-cancellations") == "Refunds & cancellations"
    assert category_name("refunds-and-cancellations", "xx") == "Refunds & cancellations"
    assert category_name("new-topic", "zu") == "New topic"
