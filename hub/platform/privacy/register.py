"""The processing register (GDPR art. 30, POPIA s. 17): what personal data the hub processes,
why, on which legal basis, where it is kept, who receives it and for how long. The static part
is declared here next to the code that processes the data; the live part (retention, webhook
recipients, consent counts) is read from the store."""

from __future__ import annotations

from typing import Any

from hub.models import utcnow
from hub.store import Store

ACTIVITIES: list[dict[str, Any]] = [
    {
        "id": "support",
        "purpose": "Answering customer and provider requests (tickets)",
        "legal_basis": "contract; legitimate interest",
        "subjects": ["consumers", "providers"],
        "data": ["name", "phone", "e-mail", "WhatsApp number", "chat visitor id", "messages", "attachments"],
        "collections": ["contacts", "identities", "conversations", "messages", "conversation_threads"],
        "retention_key": "messages",
    },
    {
        "id": "channels",
        "purpose": "Sending and receiving messages through providers",
        "legal_basis": "contract",
        "subjects": ["consumers", "providers"],
        "data": ["phone", "e-mail", "messages"],
        "collections": ["outbox", "inbound_keys", "dead_letters"],
        "processors": ["Twilio (SMS, WhatsApp, voice)", "e-mail provider (IMAP/SMTP)"],
        "retention_key": "dead_letters",
    },
    {
        "id": "integrations",
        "purpose": "Sending events to the operator's own systems (webhooks)",
        "legal_basis": "legitimate interest",
        "subjects": ["consumers", "providers"],
        "data": ["contact ids", "messages", "ticket data"],
        "collections": ["webhooks", "webhook_deliveries"],
        "retention_key": "webhook_deliveries",
    },
    {
        "id": "staff",
        "purpose": "Accounts and access control of support staff and portal users",
        "legal_basis": "contract; legal obligation (security)",
        "subjects": ["staff", "portal users"],
        "data": ["name", "e-mail", "sign-in sessions (IP, user agent)", "2FA secret (encrypted)"],
        "collections": ["users", "sessions", "refresh_tokens", "user_totp", "api_keys"],
        "retention_key": None,
    },
    {
        "id": "accountability",
        "purpose": "Audit trail of changes (who did what, when)",
        "legal_basis": "legal obligation; legitimate interest",
        "subjects": ["staff", "consumers", "providers"],
        "data": ["actor ids", "before/after values of changes"],
        "collections": ["audit_log"],
        "retention_key": "audit",
    },
    {
        "id": "consent",
        "purpose": "Proof of consent per purpose (marketing, surveys, …)",
        "legal_basis": "legal obligation",
        "subjects": ["consumers", "providers"],
        "data": ["purpose", "granted", "source", "time"],
        "collections": ["consents"],
        "retention_key": None,
    },
    {
        "id": "self_service",
        "purpose": "Help center search and bot answers; search analytics",
        "legal_basis": "legitimate interest",
        "subjects": ["visitors", "consumers", "providers"],
        "data": [
            "help-center search text",
            "browser visitor id",
            "contact id (signed in)",
            "bot searches (counts only, no text)",
            "bot conversation state",
        ],
        "collections": ["search_queries"],
        "processors": ["Meilisearch (if configured)", "Rasa (self-hosted)"],
        "retention_key": "search_queries",
    },
    {
        "id": "help_center_feedback",
        "purpose": 'Article views, "was this helpful?" votes, deflection',
        "legal_basis": "legitimate interest",
        "subjects": ["visitors"],
        "data": ["browser visitor id", "vote comments"],
        "collections": ["article_views", "article_feedback", "help_escalations"],
        "retention_key": None,
    },
]


async def processing_register(store: Store, policies: dict[str, int]) -> dict[str, Any]:
    webhooks = [{"url": d["url"], "events": d["events"], "active": d["active"]}
                async for d in store["webhooks"].find({}, {"url": 1, "events": 1, "active": 1}).limit(500)]
    purposes: dict[str, int] = {}
    async for doc in store["consents"].find({}, {"purpose": 1}).limit(100_000):
        purposes[doc["purpose"]] = purposes.get(doc["purpose"], 0) + 1
    activities = []
    for activity in ACTIVITIES:
        key = activity.get("retention_key")
        days = policies.get(key) if key else None
        activities.append({**{k: v for k, v in activity.items() if k != "retention_key"},
                           "retention_days": days, "retention": (
                               "kept until erased" if not days else f"{days} days")})
    return {
        "generated_at": utcnow().isoformat(),
        "controller": "Berry Events",
        "activities": activities,
        "webhook_recipients": webhooks,
        "consent_records_by_purpose": purposes,
        "rights": {"export": "GET /api/v1/contacts/{id}/export", "erase": "POST /api/v1/contacts/{id}/erase"},
    }
