"""Help-center interface strings per locale (article content is translated as articles)."""

from __future__ import annotations

LANGUAGES = {"en": "English", "af": "Afrikaans", "zu": "isiZulu"}

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Berry Events Help Center",
        "hero": "How can we help?",
        "search": "Search",
        "search_placeholder": "Search for answers, e.g. refund, deposit, payout",
        "categories": "Browse by topic",
        "popular": "Articles",
        "results_for": "Results for",
        "no_results": "No articles match your search.",
        "helpful": "Was this article helpful?",
        "yes": "Yes",
        "no": "No",
        "thanks_vote": "Thanks for your feedback!",
        "related": "Related articles",
        "still_need_help": "Still need help?",
        "contact_us": "Contact us",
        "contact_intro": "Send us a message and our support team will get back to you.",
        "name": "Your name",
        "email": "E-mail address",
        "subject": "Subject",
        "message": "How can we help?",
        "send": "Send message",
        "sent": "Thanks — we received your message.",
        "ticket": "Your ticket number is",
        "search_down": "Search is temporarily unavailable. Browse the topics below or contact us.",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "password": "Password",
        "language": "Language",
        "skip": "Skip to content",
        "home": "Help Center",
        "provider_only": "For providers",
        "internal": "Internal",
        "translations": "Also available in",
        "fix_errors": "Please correct the marked fields.",
        "bad_login": "E-mail or password is wrong.",
        "signed_in_as": "Signed in as",
    },
    "af": {
        "title": "Berry Events Hulpsentrum",
        "hero": "Hoe kan ons help?",
        "search": "Soek",
        "search_placeholder": "Soek antwoorde, bv. terugbetaling, deposito",
        "categories": "Blaai volgens onderwerp",
        "popular": "Artikels",
        "results_for": "Resultate vir",
        "no_results": "Geen artikels pas by jou soektog nie.",
        "helpful": "Was hierdie artikel nuttig?",
        "yes": "Ja",
        "no": "Nee",
        "thanks_vote": "Dankie vir jou terugvoer!",
        "related": "Verwante artikels",
        "still_need_help": "Nog hulp nodig?",
        "contact_us": "Kontak ons",
        "send": "Stuur boodskap",
        "sign_in": "Teken in",
        "sign_out": "Teken uit",
        "language": "Taal",
        "skip": "Gaan na inhoud",
        "home": "Hulpsentrum",
        "translations": "Ook beskikbaar in",
    },
    "zu": {
        "title": "Isikhungo Sosizo se-Berry Events",
        "hero": "Singakusiza kanjani?",
        "search": "Sesha",
        "search_placeholder": "Sesha izimpendulo",
        "categories": "Phequlula ngesihloko",
        "popular": "Izihloko",
        "no_results": "Azikho izihloko ezifana nosesho lwakho.",
        "helpful": "Ingabe lesi sihloko besiwusizo?",
        "yes": "Yebo",
        "no": "Cha",
        "related": "Izihloko ezihlobene",
        "still_need_help": "Usadinga usizo?",
        "contact_us": "Xhumana nathi",
        "sign_in": "Ngena",
        "language": "Ulimi",
        "home": "Isikhungo Sosizo",
    },
}

CATEGORY_NAMES = {
    "booking": "Booking",
    "payments": "Payments",
    "refunds-and-cancellations": "Refunds & cancellations",
    "account": "Your account",
    "safety-and-trust": "Safety & trust",
    "providers": "For providers",
    "internal": "Internal (staff)",
    "general": "General",
}


def strings(locale: str) -> dict[str, str]:
    return {**STRINGS["en"], **STRINGS.get(locale, {})}


def category_name(slug: str) -> str:
    return CATEGORY_NAMES.get(slug, slug.replace("-", " ").capitalize())
