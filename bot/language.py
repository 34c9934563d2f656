"""Language detection without a model: Unicode script first, then stop-word evidence for the
Latin-script languages Berry's customers write in (Afrikaans, isiZulu, isiXhosa, Sesotho/Setswana,
Portuguese, French). Short messages stay "unknown" (None): a lone "dankie" is not a language switch.
"""

from __future__ import annotations

import re
import unicodedata

SCRIPTS = {"ARABIC": "ar", "CJK": "zh", "HIRAGANA": "ja", "KATAKANA": "ja", "HANGUL": "ko", "CYRILLIC": "ru",
           "GREEK": "el", "HEBREW": "he", "DEVANAGARI": "hi", "THAI": "th", "TAMIL": "ta", "GUJARATI": "gu",
           "ETHIOPIC": "am"}
STOPWORDS = {
    "en": ["the", "a", "an", "is", "are", "was", "to", "of", "and", "for", "my", "me", "i", "you", "it", "in",
           "on", "with", "can", "do", "not", "this", "that", "what", "how", "please", "booking", "have",
           "has", "be", "will", "where", "when", "why", "need", "want"],
    "af": ["die", "'n", "en", "is", "nie", "ek", "jy", "my", "van", "wat", "hoe", "kan", "asseblief", "het",
           "vir", "met", "op", "dit", "ons", "julle", "sal", "wil", "nog", "baie", "dankie", "wanneer",
           "hoekom", "bespreking"],
    "zu": ["ngiyabonga", "ngicela", "ukuthi", "kodwa", "futhi", "yini", "kanjani", "ngifuna", "angikwazi",
           "uma", "ngoba", "ngiyacela", "kakhulu", "sawubona", "yebo", "cha", "ukubhuka", "imali"],
    "xh": ["enkosi", "ndicela", "ukuba", "kodwa", "ndifuna", "andikwazi", "molo", "ewe", "hayi", "kakhulu",
           "kwaye", "njani", "ngoku", "imali"],
    "st": ["ke", "kopa", "hore", "empa", "ke", "batla", "ha", "ke", "kgone", "dumela", "kea", "leboha",
           "tjhelete", "ho", "le", "ka"],
    "pt": ["não", "você", "meu", "minha", "obrigado", "obrigada", "favor", "reserva", "quando", "como", "uma",
           "está", "estou", "preciso", "quero"],
    "fr": ["les", "des", "est", "pour", "avec", "je", "vous", "merci", "plaît", "réservation", "quand",
           "comment", "une", "suis", "besoin", "voudrais"],
}
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def script_language(text: str) -> str | None:
    counts: dict[str, int] = {}
    letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        name = unicodedata.name(char, "")
        for script, code in SCRIPTS.items():
            if name.startswith(script) or (script == "CJK" and "CJK" in name):
                counts[code] = counts.get(code, 0) + 1
                break
    if not letters:
        return None
    if not counts:
        return None
    code, n = max(counts.items(), key=lambda kv: kv[1])
    return code if n / letters > 0.5 else None


def detect(text: str, min_words: int = 3) -> str | None:
    """ISO 639-1 code, or None when the message is too short or the evidence is weak."""
    by_script = script_language(text)
    if by_script:
        return by_script
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < min_words:
        return None
    scores = {lang: sum(1 for w in words if w in set(vocab)) for lang, vocab in STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    if scores[best] == 0:
        return None
    if best != "en" and scores[best] >= 2 and scores[best] > scores["en"]:
        return best
    return "en" if scores["en"] > 0 else None
