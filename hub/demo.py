"""The Berry Events demo data set: a first-time user sees a living support hub.

Consumers who booked venues, caterers and DJs, providers who deliver them, conversations on every
channel, agents and a supervisor. Loaded only into an empty database. Packages add their own demo
data (teams, articles…) by appending an ``async def seeder(app)`` to
``app[keys.EXTENSIONS]["demo_seeders"]``; ``["demo_refreshers"]`` run instead when the database was
seeded before (the help center's articles bundled since then).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from aiohttp import web

from hub import keys
from hub.auth import Principal
from hub.models import (
    Channel,
    ContactType,
    IdentityKind,
    InboundMessage,
    Role,
    SenderIdentity,
    Status,
    utcnow,
)

log = logging.getLogger(__name__)
PASSWORD = "berry-demo-2026"
ADMIN = "admin@berry.events"
AGENT = "lindiwe@berry.events"

STAFF = [
    (ADMIN, "Berry Admin", Role.admin),
    ("zanele@berry.events", "Zanele Mokoena", Role.supervisor),
    (AGENT, "Lindiwe Dube", Role.agent),
    ("pieter@berry.events", "Pieter van der Merwe", Role.agent),
    ("aisha@berry.events", "Aisha Patel", Role.agent),
]

# (channel, identity kind, identity, name, contact type, messages from the customer, agent reply or None,
# status)
CONVERSATIONS: list[tuple[Channel, IdentityKind, str, str, ContactType, list[str], str | None,
                          Status]] = [
    (
        Channel.whatsapp,
        IdentityKind.whatsapp,
        "+27821234567",
        "Thandi Nkosi",
        ContactType.consumer,
        [
            "Hi! I booked the Rosebank Loft for my sister's 30th on 14 Dec, booking BE-20417.",
            "The venue hasn't confirmed yet and the party is in 3 weeks. Can you check?",
        ],
        "Hi Thandi, I've chased the venue and they'll confirm by tomorrow noon. I'll update you here.",
        Status.pending,
    ),
    (
        Channel.sms,
        IdentityKind.phone,
        "+27831112222",
        "Sipho Khumalo",
        ContactType.consumer,
        ["My card payment failed twice for the DJ booking BE-20533. Was I charged?"],
        None,
        Status.open,
    ),
    (
        Channel.email,
        IdentityKind.email,
        "megan.jacobs@example.co.za",
        "Megan Jacobs",
        ContactType.consumer,
        ["Good day, I need an invoice with our company VAT number for the year-end function (BE-19980)."],
        "Hi Megan, the VAT invoice is attached to your booking page now. Anything else?",
        Status.resolved,
    ),
    (
        Channel.webchat,
        IdentityKind.chat,
        "visitor-7f3a",
        "",
        ContactType.consumer,
        ["how do i cancel a booking and will i get my deposit back"],
        None,
        Status.open,
    ),
    (
        Channel.voice,
        IdentityKind.phone,
        "+27845556666",
        "Johan Botha",
        ContactType.consumer,
        [
            "Voicemail: Hi, it's Johan, the caterer didn't arrive at our wedding tasting today. "
            "Please call me back."
        ],
        None,
        Status.open,
    ),
    (
        Channel.email,
        IdentityKind.email,
        "bookings@capetowncaterers.co.za",
        "Cape Town Caterers",
        ContactType.provider,
        ["Hello Berry team, our payout for November events hasn't arrived. Can you check the schedule?"],
        "Hi! November payouts run on the 5th business day; yours is scheduled for 5 Dec.",
        Status.resolved,
    ),
    (
        Channel.whatsapp,
        IdentityKind.whatsapp,
        "+27727778888",
        "DJ Nandi Beats",
        ContactType.provider,
        ["Hi, how do I update my availability calendar? Two clients booked me on the same night."],
        None,
        Status.open,
    ),
    (
        Channel.sms,
        IdentityKind.phone,
        "+27609990000",
        "Lerato Sithole",
        ContactType.consumer,
        ["Can I move my photographer booking BE-21002 from Saturday to Sunday?"],
        "Hi Lerato, the photographer is free on Sunday. I've moved it, you'll get a confirmation SMS.",
        Status.resolved,
    ),
    (
        Channel.webchat,
        IdentityKind.chat,
        "visitor-91bc",
        "Ayanda Zulu",
        ContactType.consumer,
        ["This is the third time the marquee company is late. I want a refund, this is unacceptable!"],
        None,
        Status.open,
    ),
    (
        Channel.email,
        IdentityKind.email,
        "hello@joburgblooms.co.za",
        "Joburg Blooms",
        ContactType.provider,
        ["We'd like to join Berry Events as a florist. What documents do you need?"],
        None,
        Status.open,
    ),
    (
        Channel.whatsapp,
        IdentityKind.whatsapp,
        "+447700900123",
        "Emily Clarke",
        ContactType.consumer,
        [
            "Hello from London! Booking a venue in Stellenbosch for our wedding in March. "
            "Do you accept GBP cards?"
        ],
        "Hi Emily, yes: international cards are charged in ZAR, your bank converts the amount.",
        Status.pending,
    ),
    (
        Channel.sms,
        IdentityKind.phone,
        "+27823334444",
        "Bongani Mahlangu",
        ContactType.consumer,
        ["Thanks for sorting out the sound system so quickly yesterday!"],
        None,
        Status.resolved,
    ),
]


async def seed_demo(app: web.Application) -> dict[str, Any]:
    """Load the demo data unless the database already has users. Returns what the banner prints."""
    report: dict[str, Any] = {
        "admin_email": ADMIN,
        "agent_email": AGENT,
        "password": PASSWORD,
        "seeded": False,
    }
    users = app[keys.USERS]
    if await users.count() > 0:  # loaded before: only what later versions bundle (new help articles)
        for refresh in app[keys.EXTENSIONS].get("demo_refreshers", []):
            await refresh(app)
        return report
    staff = {}
    for email, name, role in STAFF:
        staff[email] = await users.create(email, PASSWORD, role, name)
    # the help articles first: the bot answers the demo's questions from them
    for seeder in app[keys.EXTENSIONS].get("demo_seeders", []):
        await seeder(app)
    inbox, conversations = app[keys.INBOX], app[keys.CONVERSATIONS]
    agents = [staff[e] for e, _, r in STAFF if r == Role.agent]
    start = utcnow() - timedelta(days=2)
    for i, (channel, kind, identity, name, ctype, texts, reply, status) in enumerate(CONVERSATIONS):
        result = None
        for j, text in enumerate(texts):
            result = await inbox.ingest(
                InboundMessage(
                    channel=channel,
                    external_id=f"demo-{i}-{j}",
                    sender=SenderIdentity(kind=kind, value=identity),
                    sender_name=name,
                    contact_type=ctype,
                    text=text,
                    subject="Berry Events enquiry" if channel == Channel.email else None,
                    received_at=start + timedelta(hours=4 * i, minutes=j),
                )
            )
        assert result is not None
        agent = agents[i % len(agents)]
        actor = Principal(role=agent.role, user_id=agent.id, name=agent.name)
        conversation_id = result.conversation.id
        if reply:
            await conversations.update(conversation_id, {"assignee_id": agent.id}, actor)
            await conversations.reply(conversation_id, actor, reply)
        if status != Status.open:
            await conversations.update(conversation_id, {"status": status}, actor)
    report.update(seeded=True, contacts=len({c[2] for c in CONVERSATIONS}), conversations=len(CONVERSATIONS))
    log.info("demo data loaded", extra={"conversations": len(CONVERSATIONS)})
    return report
