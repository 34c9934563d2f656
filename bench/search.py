"""Knowledge-base search benchmark (issue 5): the embedded backend at 10,000 articles.

Prints one JSON line: index build time, search latency p50/p95 (hybrid and keyword-only, the
query vector included), and relevance — MRR@10, recall@5 and hit@3 — of a labelled set of
paraphrased questions about the bundled Berry Events articles, keyword-only against hybrid in
the same run. The 10,000 articles are the bundled ones plus generated look-alike articles
(same vocabulary: services, cities, bookings, payments), so the labelled answers compete with
plenty of near-misses.

    HF_HUB_OFFLINE=1 python bench/search.py [--articles 10000] [--queries 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge_base.importer import read_folder  # noqa: E402
from knowledge_base.markdown import plain_text  # noqa: E402
from knowledge_base.models import slugify  # noqa: E402
from knowledge_base.search import SearchDocument, SearchQuery, shared_encoder  # noqa: E402
from knowledge_base.search.embedded import EmbeddedBackend  # noqa: E402
from knowledge_base.seed import CONTENT  # noqa: E402

# Paraphrased questions (not the titles' words where avoidable) → the slug of the right article.
LABELLED = [
    ("when do I get my money back", "how-refunds-work"),
    ("how long does a refund take to reach my card", "how-refunds-work"),
    ("will I be refunded if the photographer cancels", "how-refunds-work"),
    ("I want to call off my booking", "cancel-a-booking"),
    ("what is the difference between flexible and strict policy", "cancel-a-booking"),
    ("move my party to another date", "reschedule-an-event"),
    ("more guests are coming than planned", "reschedule-an-event"),
    ("the DJ never arrived", "provider-no-show-or-dispute"),
    ("complain about bad catering", "provider-no-show-or-dispute"),
    ("how much deposit must I pay", "deposits-and-payment-schedule"),
    ("when is the rest of the payment taken", "deposits-and-payment-schedule"),
    ("can I pay with snapscan", "payment-methods"),
    ("do you accept EFT", "payment-methods"),
    ("how do I reserve a venue", "how-to-book-a-service"),
    ("steps to hire a caterer", "how-to-book-a-service"),
    ("sign up for an account", "create-an-account"),
    ("verification code did not arrive", "create-an-account"),
    ("cannot log in forgot password", "reset-your-password"),
    ("change my phone number", "update-contact-details"),
    ("get notifications on whatsapp", "update-contact-details"),
    ("is my payment safe", "booking-guarantee"),
    ("provider asked me to pay cash", "booking-guarantee"),
    ("rate my photographer", "leaving-a-review"),
    ("edit a review I wrote", "leaving-a-review"),
    ("list my venue on berry", "become-a-provider"),
    ("join as a supplier", "become-a-provider"),
    ("which documents for provider verification", "provider-verification-documents"),
    ("upload my ID and CIPC certificate", "provider-verification-documents"),
    ("when do providers receive their money", "provider-payouts"),
    ("payout day of the week", "provider-payouts"),
    ("how much commission does berry take", "provider-fees-and-commission"),
    ("is there a monthly fee for providers", "provider-fees-and-commission"),
    ("block dates in my calendar", "manage-availability-calendar"),
    ("sync google calendar", "manage-availability-calendar"),
    ("I must cancel a client's event as a supplier", "provider-cancelling-a-booking"),
    ("penalty for provider cancellation", "provider-cancelling-a-booking"),
    ("phone number for support", "contact-support"),
    ("what are your opening hours", "contact-support"),
    ("refnd polcy", "how-refunds-work"),  # typos
    ("cancelation", "cancel-a-booking"),
    ("payo", "provider-payouts"),  # prefix, search as you type
    ("deposi", "deposits-and-payment-schedule"),
]

SERVICES = [
    "venue",
    "caterer",
    "photographer",
    "DJ",
    "florist",
    "décor hire",
    "marquee",
    "sound system",
    "lighting",
    "wedding cake",
    "videographer",
    "jumping castle",
    "MC",
    "live band",
    "chair hire",
    "mobile bar",
    "wedding planner",
    "make-up artist",
    "shuttle",
    "security",
]
CITIES = [
    "Cape Town",
    "Johannesburg",
    "Durban",
    "Pretoria",
    "Gqeberha",
    "Bloemfontein",
    "Stellenbosch",
    "Polokwane",
    "East London",
    "Nelspruit",
    "Pietermaritzburg",
    "George",
    "Kimberley",
    "Rustenburg",
]
TOPICS = [
    ("menu tasting", "Book a tasting {days} days before; the {service} confirms the menu and dietary needs."),
    ("travel fee", "Outside {city} the {service} may charge a travel fee per kilometre, shown on the quote."),
    (
        "setup times",
        "The {service} arrives {hours} hours before the event to set up; agree access with the venue.",
    ),
    ("package contents", "Each {service} package lists what is included; extras are quoted separately."),
    ("weather plan", "For outdoor events in {city} ask the {service} about a rain plan and cover."),
    ("noise rules", "Municipal noise rules in {city} apply after 23:00; the {service} must respect them."),
    ("insurance", "A {service} carries public liability insurance; ask for the certificate before the day."),
    (
        "load shedding",
        "Ask the {service} about a generator or inverter backup during load shedding in {city}.",
    ),
    ("quotes", "Request a quote from a {service}: give the date, guest count and area in {city}."),
    ("parking", "Guests at a {service} in {city} usually park on site; some venues charge per car."),
    ("overtime", "If the event runs late the {service} charges overtime per started hour of {hours} hours."),
    ("equipment", "The {service} brings its own equipment; power points must be within {hours}0 metres."),
    ("dietary needs", "Tell the {service} about halaal, kosher, vegan or allergy requirements early."),
    ("guest count changes", "Final guest numbers for the {service} are due {days} days before the event."),
]


def generated(n: int, rng: random.Random) -> list[SearchDocument]:
    docs = []
    for i in range(n):
        topic, sentence = rng.choice(TOPICS)
        service, city = rng.choice(SERVICES), rng.choice(CITIES)
        fill = {
            "service": service,
            "city": city,
            "days": rng.choice([3, 7, 14, 21, 30]),
            "hours": rng.choice([2, 3, 4]),
        }
        extra = " ".join(
            rng.choice(TOPICS)[1].format(**{**fill, "service": rng.choice(SERVICES)}) for _ in range(3)
        )
        title = f"{service.capitalize()} {topic} in {city}"
        docs.append(
            SearchDocument(
                id=f"gen-{i}",
                title=title,
                summary=sentence.format(**fill),
                body=extra,
                url=f"/help/en/articles/{slugify(title)}-{i}",
                category=rng.choice(["booking", "payments", "providers", "general"]),
                visibility=rng.choice(["public"] * 4 + ["providers"]),
                tags=[topic.split()[0], service.split()[0].lower()],
            )
        )
    return docs


def real_articles() -> list[SearchDocument]:
    sources, errors = read_folder(CONTENT)
    assert not errors, errors
    docs = []
    for s in sources:
        d = s.data
        locale = d.get("locale", "en")
        docs.append(
            SearchDocument(
                id=f"{locale}:{d['slug']}",
                title=d["title"],
                summary=d.get("summary", ""),
                body=plain_text(d["body"]),
                url=f"/help/{locale}/articles/{d['slug']}",
                locale=locale,
                visibility=d.get("visibility", "public"),
                category=d.get("category"),
                tags=d.get("tags", []),
            )
        )
    return docs


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    rng = random.Random(5)
    encoder = shared_encoder()
    await encoder.warm_up()
    real = real_articles()
    docs = real + generated(args.articles - len(real), rng)
    everyone = ["public", "providers", "internal"]
    with tempfile.TemporaryDirectory() as tmp:
        backend = EmbeddedBackend(Path(tmp) / "search", encoder)
        t0 = time.perf_counter()
        for i in range(0, len(docs), 1000):
            await backend.index(docs[i : i + 1000])
        build_s = time.perf_counter() - t0

        relevance = {}
        for mode, semantic in (("keyword", False), ("hybrid", True)):
            rr, recall5, hit3 = [], 0, 0
            for text, slug in LABELLED:
                hits = await backend.search(
                    SearchQuery(text=text, locale="en", visibilities=everyone, limit=10, semantic=semantic)
                )
                ranked = [h.id for h in hits]
                target = f"en:{slug}"
                rank = ranked.index(target) + 1 if target in ranked else None
                rr.append(1 / rank if rank else 0.0)
                recall5 += bool(rank and rank <= 5)
                hit3 += bool(rank and rank <= 3)
            relevance[mode] = {
                "mrr@10": round(statistics.mean(rr), 3),
                "recall@5": round(recall5 / len(LABELLED), 3),
                "hit@3": round(hit3 / len(LABELLED), 3),
            }

        pool = (
            [q for q, _ in LABELLED]
            + [d.title for d in rng.sample(docs, 60)]
            + [f"{rng.choice(SERVICES)} {rng.choice(TOPICS)[0]}" for _ in range(60)]
        )
        latency = {}
        for mode, semantic in (("hybrid", True), ("keyword", False)):
            times = []
            for i in range(args.queries):
                q = SearchQuery(
                    text=pool[i % len(pool)],
                    locale="en",
                    visibilities=["public", "providers"],
                    semantic=semantic,
                )
                t = time.perf_counter()
                await backend.search(q)
                times.append((time.perf_counter() - t) * 1000)
            latency[mode] = {"p50_ms": round(pct(times, 50), 2), "p95_ms": round(pct(times, 95), 2)}
        size = sum(f.stat().st_size for f in (Path(tmp) / "search").rglob("*") if f.is_file())
    print(
        json.dumps(
            {
                "bench": "kb_search",
                "articles": len(docs),
                "labelled_queries": len(LABELLED),
                "index_build_s": round(build_s, 1),
                "index_mb": round(size / 1e6, 1),
                "latency": latency,
                "relevance": relevance,
                "cpu_count": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
