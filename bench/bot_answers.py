"""Does the bot offer the right article? (issue 9). Every example of the project's question intents
is held out once (5-fold cross-validation, the shipped classifier); the bundled help-center
articles are indexed in the real embedded search backend (tantivy + MiniLM). For each held-out
message the intent the classifier predicts decides the search, as in ``EmbeddedEngine``, and the
top article is right when it is one of the intent's articles (``RIGHT`` below, written by hand).
Side by side, in the same run, the knowledge-base query:

- ``text``: what the customer wrote (what the engines shipped until session 10);
- ``text+topic``: that plus the predicted intent's topic name ("… Getting a refund"), as a topic
  button already searched.

``right_in_top2``: the right article is one of the first two (what offering a second one would
reach). Messages the classifier sends elsewhere (small talk, out of scope, unclear, request_human…) are
counted apart: no article is offered for them either way.

    python -P bench/bot_answers.py   →   one JSON line
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bench.search import real_articles  # noqa: E402
from bot import nlu_data  # noqa: E402
from bot.embedded.classifier import IntentClassifier, _folds  # noqa: E402
from bot.embedded.engine import NO_KB, _query  # noqa: E402
from bot.engine import Turn, article_visibilities  # noqa: E402
from knowledge_base.search import SearchQuery, shared_encoder  # noqa: E402
from knowledge_base.search.embedded import EmbeddedBackend  # noqa: E402

CACHE = Path(os.environ.get("BERRY_CACHE_DIR", Path.home() / ".cache" / "berry")) / "bench-models"
# the articles that answer each question intent (slugs of knowledge_base/content/en)
RIGHT = {
    "booking_status": {"booking-status"},
    "cancel_booking": {"cancel-a-booking"},
    "reschedule_booking": {"reschedule-an-event"},
    "refund_request": {"how-refunds-work", "provider-no-show-or-dispute"},  # the latter: refunds for no-shows
    "payment_failed": {"payment-failed"},
    "invoice_request": {"invoices"},
    "provider_signup": {"become-a-provider", "provider-verification-documents"},
    "provider_payout": {"provider-payouts", "provider-fees-and-commission"},  # "less than expected": fees
    "provider_listing": {"manage-availability-calendar", "leaving-a-review"},
    "account_login": {"reset-your-password", "create-an-account"},
    "update_contact_details": {"update-contact-details"},
    "find_provider": {"how-to-book-a-service"},
    "pricing_fees": {"prices-and-fees", "deposits-and-payment-schedule", "provider-fees-and-commission"},
    "payment_methods": {"payment-methods"},
}
PROVIDER_INTENTS = {"provider_signup", "provider_payout", "provider_listing"}  # asked by providers


def query(text: str, intent: str, variant: str) -> str:
    """``text+topic`` is the shipped engine's query (``engine._query``), not a copy of it."""
    return text if variant == "text" else _query(text, intent, Turn(conversation_id="bench", text=text))


async def main() -> int:
    everything = nlu_data.load(ROOT / "bot" / "rasa" / "data")
    examples = [ex for ex in everything if ex.intent in RIGHT]
    held_ids = {id(ex) for ex in examples}
    predicted: dict[int, str] = {}
    for train, held in _folds(everything, 0.1):  # 5 folds: every example held out once
        mine = [ex for ex in held if id(ex) in held_ids]
        clf = IntentClassifier.train(train, cache_dir=CACHE)
        for ex, parse in zip(mine, clf.parse_many([ex.text for ex in mine]), strict=True):
            predicted[id(ex)] = parse.intent
    docs = [d for d in real_articles() if d.locale == "en"]
    variants = ("text", "text+topic")
    counts: dict[str, Counter[str]] = {v: Counter() for v in variants}
    wrong: dict[str, list[str]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as where:
        backend = EmbeddedBackend(where, shared_encoder())
        await backend.index(docs)
        for ex in examples:
            intent = predicted[id(ex)]
            audience = "provider" if ex.intent in PROVIDER_INTENTS else "consumer"
            for v in variants:
                c = counts[v]
                c["messages"] += 1
                if intent in NO_KB:  # small talk, unclear, a person…: no article either way
                    c["no_search"] += 1
                    continue
                hits = await backend.search(SearchQuery(text=query(ex.text, intent, v), locale="en", limit=2,
                                                        visibilities=article_visibilities(audience)))
                slugs = [h.id.split(":", 1)[1] for h in hits]
                slug = slugs[0] if slugs else None
                c["right_in_top2"] += any(s in RIGHT[ex.intent] for s in slugs)
                c["searched"] += 1
                c["right"] += slug in RIGHT[ex.intent]
                c["intent_right"] += intent == ex.intent
                c["right_when_intent_right"] += intent == ex.intent and slug in RIGHT[ex.intent]
                c["right_when_intent_wrong"] += intent != ex.intent and slug in RIGHT[ex.intent]
                if slug not in RIGHT[ex.intent]:
                    wrong[v].append(f"{ex.text} [{ex.intent}→{intent}] → {slug}")
    out = {"bench": "bot_answers", "machine": f"{os.cpu_count()} cpu, {platform.machine()}",
           "articles": len(docs)}
    for v in variants:
        out[v] = {**counts[v], "right_share": round(counts[v]["right"] / counts[v]["messages"], 4)}
    print(json.dumps(out))
    for v in variants:
        print(f"\n{v}: {len(wrong[v])} wrong", *wrong[v][:40], sep="\n  ", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
