"""GDPR/POPIA through the real app: consent records, the data-subject export, erasure proven by
scanning every collection of the database, retention run by the job queue, the register."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from gridfs import AsyncGridFSBucket

from hub import keys
from hub.jobs import Worker
from hub.models import Attachment, Channel, InboundMessage, Role, SenderIdentity, utcnow
from hub.platform.appkeys import PRIVACY
from hub.platform.events import ContactErased

from ...conftest import Api
from .conftest import Receiver, run_jobs

NAME = "Nomvula Zwane-Marker"
PHONE = "+27825550199"
EMAIL = "nomvula.marker@example.org"
SECRET_TEXT = "my ID number is 8001015009087"
BLOB = b"%PDF passport scan of Nomvula"
KNOWN_GAPS: set[str] = set()  # collections of other packages that keep personal data after erasure


async def _person(api: Api, admin: dict[str, Any]) -> dict[str, Any]:
    """A contact with two identities, two conversations, an attachment, consent, a portal user."""
    app = api.app
    blob_id = str(await AsyncGridFSBucket(app[keys.STORE].db, bucket_name="blobs").upload_from_stream(
        "passport.pdf", BLOB))
    first = await app[keys.INBOX].ingest(InboundMessage(
        channel=Channel.whatsapp, external_id="wa-1", sender=SenderIdentity(kind="whatsapp", value=PHONE),
        sender_name=NAME, text=SECRET_TEXT,
        attachments=[Attachment(filename="../../passport.pdf", content_type="application/pdf", size=len(BLOB),
                                blob_id=blob_id)]))
    contact_id = first.conversation.contact_id
    h = admin["headers"]
    resp = await api.client.post(f"/api/v1/contacts/{contact_id}/identities", headers=h,
                                 json={"kind": "email", "value": EMAIL})
    assert resp.status == 201
    await app[keys.INBOX].ingest(
        InboundMessage(
            channel=Channel.email,
            external_id="<m1@example.org>",
            sender=SenderIdentity(kind="email", value=EMAIL),
            sender_name=NAME,
            subject=f"Booking for {NAME}",
            text=f"Call me on {PHONE}",
        )
    )
    await api.client.post(f"/api/v1/conversations/{first.conversation.id}/messages", headers=h,
                          json={"text": f"Hi {NAME}, noted."})
    resp = await api.client.patch(
        f"/api/v1/contacts/{contact_id}",
        headers=h,
        json={"custom_fields": {"id_number": "8001015009087"}, "tags": ["vip-marker"]},
    )
    assert resp.status == 200
    resp = await api.client.post(f"/api/v1/contacts/{contact_id}/consents", headers=h,
                                 json={"purpose": "marketing", "granted": True, "source": "web_form",
                                       "note": f"ticked by {NAME}"})
    assert resp.status == 201, await resp.text()
    await app[keys.USERS].create(EMAIL, "correct horse", Role.customer, name=NAME, contact_id=contact_id)
    return {"contact_id": contact_id, "blob_id": blob_id, "conversation_id": first.conversation.id}


async def test_consent_history_and_current_state(api: Api) -> None:
    admin = await api.user(Role.admin)
    agent = await api.user(Role.agent)
    person = await _person(api, admin)
    cid = person["contact_id"]
    resp = await api.client.post(f"/api/v1/contacts/{cid}/consents", headers=agent["headers"],
                                 json={"purpose": "marketing", "granted": False, "source": "whatsapp"})
    assert resp.status == 201
    resp = await api.client.get(f"/api/v1/contacts/{cid}/consents", headers=agent["headers"])
    history = (await resp.json())["items"]
    assert [(c["granted"], c["source"]) for c in history] == [(False, "whatsapp"), (True, "web_form")]
    # the paging contract: one per page, oldest first when asked, a purpose filter, hostile values 400
    resp = await api.client.get(f"/api/v1/contacts/{cid}/consents?sort=at&limit=1", headers=agent["headers"])
    first = await resp.json()
    assert [c["source"] for c in first["items"]] == ["web_form"] and first["next_cursor"]
    resp = await api.client.get(f"/api/v1/contacts/{cid}/consents?sort=at&cursor={first['next_cursor']}",
                                headers=agent["headers"])
    assert [c["source"] for c in (await resp.json())["items"]] == ["whatsapp"]
    resp = await api.client.get(f"/api/v1/contacts/{cid}/consents?purpose=surveys", headers=agent["headers"])
    assert (await resp.json())["items"] == []
    for bad in (
        "purpose=$ne",
        "purpose[$ne]=x",
        "sort=note",
        "limit=0",
        f"sort=-at&cursor={first['next_cursor']}",
    ):
        resp = await api.client.get(f"/api/v1/contacts/{cid}/consents?{bad}", headers=agent["headers"])
        assert resp.status == 400, bad
    assert history[0]["recorded_by"] == agent["user"]["id"]
    contact = await api.app[keys.STORE].contacts.find_one({"_id": cid})
    assert contact["consent"]["marketing"]["granted"] is False


@pytest.mark.parametrize("body", [
    {"purpose": "$set", "granted": True, "source": "x"},
    {"purpose": "a.b", "granted": True, "source": "x"},
    {"purpose": "marketing", "granted": "yes please", "source": "x"},
    {"purpose": "marketing", "granted": True, "source": "<script>"},
    {"purpose": "marketing", "granted": True, "source": "x", "note": "n" * 5000},
    {"purpose": "marketing", "granted": True},
    {"purpose": {"$ne": 1}, "granted": True, "source": "x"},
])
async def test_bad_consent_input_is_refused_and_nothing_stored(api: Api, body: dict[str, Any]) -> None:
    admin = await api.user(Role.admin)
    resp = await api.client.post("/api/v1/contacts", headers=admin["headers"], json={"name": "x"})
    cid = (await resp.json())["id"]
    resp = await api.client.post(f"/api/v1/contacts/{cid}/consents", headers=admin["headers"], json=body)
    assert resp.status == 422
    assert await api.app[keys.STORE]["consents"].count_documents({}) == 0
    resp = await api.client.post("/api/v1/contacts/nope/consents", headers=admin["headers"],
                                 json={"purpose": "marketing", "granted": True, "source": "x"})
    assert resp.status == 404


SEARCHED = f"refund for {NAME} booking BK-7731"


async def _searches(api: Api) -> None:
    """The person's portal user searches the help center signed in and the API with its token;
    a stranger searches anonymously (kept by the erasure: nothing ties it to the person)."""
    client = api.client
    resp = await client.post("/help/signin", allow_redirects=False,
                             data={"email": EMAIL, "password": "correct horse", "next": "/help/en"})
    assert resp.status == 303
    assert (await client.get("/help/en/search", params={"q": SEARCHED})).status == 200
    client.session.cookie_jar.clear()
    login = await client.post("/api/v1/auth/login", json={"email": EMAIL, "password": "correct horse"})
    bearer = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
    resp = await client.get("/api/v1/kb/search", params={"q": f"deposit {PHONE}"}, headers=bearer)
    assert resp.status == 200
    assert (await client.get("/help/en/search", params={"q": "refund stranger"})).status == 200
    client.session.cookie_jar.clear()


async def test_export_is_one_archive_of_everything(api: Api) -> None:
    admin = await api.user(Role.admin)
    person = await _person(api, admin)
    await _searches(api)
    resp = await api.client.get(f"/api/v1/contacts/{person['contact_id']}/export", headers=admin["headers"])
    assert resp.status == 200 and resp.content_type == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(await resp.read()))
    names = zf.namelist()
    assert {"manifest.json", "contact.json", "identities.json", "conversations.json", "messages.json",
            "consents.json", "users.json", "audit.json", "searches.json"} <= set(names)
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["counts"]["identities"] == 2 and manifest["counts"]["conversations"] == 2
    searches = {d["query"]: d["source"] for d in json.loads(zf.read("searches.json"))}
    assert searches == {SEARCHED.lower(): "help_center", f"deposit {PHONE}": "api"}  # not the stranger's
    assert manifest["counts"]["messages"] == 3 and manifest["counts"]["attachments"] == 1
    assert SECRET_TEXT in zf.read("messages.json").decode()
    assert all(not n.startswith(("/", "..")) and "/../" not in n for n in names)  # traversal-safe names
    [attachment] = [n for n in names if n.startswith("attachments/")]
    assert attachment == f"attachments/{person['blob_id']}-passport.pdf" and zf.read(attachment) == BLOB
    assert "password_hash" not in zf.read("users.json").decode()
    agent = await api.user(Role.agent)
    resp = await api.client.get(f"/api/v1/contacts/{person['contact_id']}/export", headers=agent["headers"])
    assert resp.status == 403


async def _scan(api: Api, needles: list[str]) -> dict[str, list[str]]:
    """Every document of every collection in the database, searched for every needle."""
    db = api.app[keys.STORE].db
    found: dict[str, list[str]] = {}
    for name in await db.list_collection_names():
        async for doc in db[name].find():
            text = json.dumps(doc, default=lambda v: v.decode("latin-1") if isinstance(v, bytes) else str(v))
            hits = [n for n in needles if n.lower() in text.lower()]
            if hits:
                found.setdefault(name, []).extend(hits)
    return found


async def test_erasure_leaves_nothing_personal_anywhere(api: Api, receiver: Receiver) -> None:
    admin = await api.user(Role.admin)
    resp = await api.client.post("/api/v1/webhooks", headers=admin["headers"],
                                 json={"url": receiver.url, "events": ["*"]})
    assert resp.status == 201
    person = await _person(api, admin)
    cid = person["contact_id"]
    await _searches(api)
    await run_jobs(api.app)  # webhook deliveries now hold message texts
    await api.app[keys.STORE]["dead_letters"].insert_one(
        {"_id": "dl1", "source": "twilio", "created_at": utcnow(), "payload": {"From": f"whatsapp:{PHONE}"}})
    needles = [
        NAME,
        "Nomvula",
        PHONE,
        PHONE.lstrip("+"),
        EMAIL,
        SECRET_TEXT,
        "8001015009087",
        "passport scan",
        "vip-marker",
    ]
    await api.app[keys.BUS].drain()
    await api.app[keys.EXTENSIONS]["agent_console"]["forwarder"].drain()  # past its flush window: logged
    before = await _scan(api, needles)
    assert {"console_events", "messages", "search_queries"} <= set(before)  # the scan does find them before

    bus = api.app[keys.BUS]
    with bus.capture() as events:
        resp = await api.client.post(f"/api/v1/contacts/{cid}/erase", headers=admin["headers"],
                                     json={"confirm": cid})
        assert resp.status == 200, await resp.text()
    counts = (await resp.json())["counts"]
    assert counts["identities"] == 2 and counts["messages"] == 3 and counts["attachments"] == 1
    assert counts["logged_events"] > 0 and counts["search_queries"] == 2
    await bus.drain()
    leftovers = await _scan(api, needles)
    # Collections owned by other packages that do not yet act on contact.erased: listed here so the
    # gap is visible; remove an entry as soon as its package subscribes (the assert then tightens).
    assert set(leftovers) <= KNOWN_GAPS, leftovers
    [erased] = [e for e in events if isinstance(e, ContactErased)]
    assert (
        erased.contact_id == cid
        and len(erased.message_ids) == 3
        and person["conversation_id"] in erased.conversation_ids
    )
    # the skeleton and an audit record without personal data remain, and others' searches
    store = api.app[keys.STORE]
    assert [d["query"] async for d in store["search_queries"].find()] == ["refund stranger"]
    assert await store.messages.count_documents({"contact_id": cid}) == 3
    [entry] = await api.app[keys.AUDIT].list("contact", cid, limit=1)
    assert entry["action"] == "contact.erase" and entry["actor_id"] == admin["user"]["id"]
    # repeatable (an interrupted erasure is finished by running it again)
    resp = await api.client.post(
        f"/api/v1/contacts/{cid}/erase", headers=admin["headers"], json={"confirm": cid}
    )
    assert resp.status == 200


async def test_erase_needs_confirmation_and_admin(api: Api) -> None:
    admin = await api.user(Role.admin)
    sup = await api.user(Role.supervisor)
    resp = await api.client.post("/api/v1/contacts", headers=admin["headers"], json={"name": "Keep Me"})
    cid = (await resp.json())["id"]
    resp = await api.client.post(
        f"/api/v1/contacts/{cid}/erase", headers=admin["headers"], json={"confirm": "x"}
    )
    assert resp.status == 422 and (await resp.json())["field"] == "confirm"
    resp = await api.client.post(
        f"/api/v1/contacts/{cid}/erase", headers=sup["headers"], json={"confirm": cid}
    )
    assert resp.status == 403
    resp = await api.client.post(f"/api/v1/contacts/{cid}/erase", headers=admin["headers"],
                                 json={"confirm": {"$ne": None}})
    assert resp.status == 422
    assert (await api.app[keys.STORE].contacts.find_one({"_id": cid}))["name"] == "Keep Me"


async def test_retention_runs_from_the_job_queue(api: Api) -> None:
    admin = await api.user(Role.admin)
    h = admin["headers"]
    store = api.app[keys.STORE]
    job = await store["jobs"].find_one({"kind": "privacy.retention"})
    assert job is not None and job["_id"].startswith("retention:")
    resp = await api.client.patch(
        "/api/v1/privacy/retention", headers=h, json={"messages": 30, "dead_letters": 7}
    )
    assert (await resp.json())["messages"] == 30 and (await resp.json())["search_queries"] == 90
    person = await _person(api, admin)
    old = utcnow() - timedelta(days=31)
    await store.messages.update_many({"contact_id": person["contact_id"], "channel": "whatsapp"},
                                     {"$set": {"created_at": old}})
    await store["dead_letters"].insert_many(
        [{"_id": "old", "created_at": old}, {"_id": "new", "created_at": utcnow()}]
    )
    await store["search_queries"].insert_many([  # typed text: kept 90 days unless changed
        {"_id": "old", "query": f"refund {NAME}", "source": "help_center", "at": old - timedelta(days=60)},
        {"_id": "new", "query": "refund", "source": "help_center", "at": old - timedelta(days=58)}])
    await store["jobs"].delete_many({"kind": {"$ne": "privacy.retention"}})
    assert await Worker(api.app[keys.JOBS], api.app[keys.JOB_HANDLERS]).run_once()  # this hour's run is due
    msgs = [m async for m in store.messages.find({"contact_id": person["contact_id"]})]
    wiped = [m for m in msgs if m.get("retained")]
    assert len(wiped) == 2 and all(m["text"] == "" and m["attachments"] == [] for m in wiped)
    assert any(SECRET_TEXT not in m["text"] and m["text"] for m in msgs if not m.get("retained"))
    assert [d["_id"] async for d in store["dead_letters"].find()] == ["new"]
    assert [d["_id"] async for d in store["search_queries"].find()] == ["new"]
    # the next run is queued for the next hour, once
    [next_run] = [j async for j in store["jobs"].find({"kind": "privacy.retention", "state": "ready"})]
    assert next_run["next_at"] > utcnow()
    resp = await api.client.patch("/api/v1/privacy/retention", headers=h, json={"messages": -1})
    assert resp.status == 422
    resp = await api.client.post("/api/v1/privacy/retention/run", headers=h)  # by hand: it deletes: audited
    assert resp.status == 200
    entry = await store.audit_log.find_one({"action": "privacy.retention.run"})
    assert entry is not None and entry["actor_id"] == admin["user"]["id"] and "done" in entry["after"]


async def test_retention_run_by_hand_is_refused_while_a_run_is_going(api: Api) -> None:
    """One run at a time: a run going on another node (its claim) makes a run by hand a 409 and the
    hourly job skip its turn; a claim left by a process that died is taken over after an hour."""
    admin = await api.user(Role.admin)
    store = api.app[keys.STORE]
    await store["dead_letters"].insert_one({"_id": "old", "created_at": utcnow() - timedelta(days=91)})
    await store["retention_runs"].insert_one({"_id": "running", "started_at": utcnow(), "token": "other"})
    resp = await api.client.post("/api/v1/privacy/retention/run", headers=admin["headers"])
    assert resp.status == 409 and "already going" in (await resp.json())["detail"]
    await api.app[PRIVACY].retention.job({})  # the hourly job skips, and queues the next hour
    assert await store["dead_letters"].count_documents({}) == 1
    assert await store.audit_log.count_documents({"action": "privacy.retention.run"}) == 0
    await store["retention_runs"].update_one({"_id": "running"},
                                             {"$set": {"started_at": utcnow() - timedelta(hours=2)}})
    resp = await api.client.post("/api/v1/privacy/retention/run", headers=admin["headers"])
    assert resp.status == 200 and (await resp.json())["done"]["dead_letters"] == 1
    assert await store["retention_runs"].count_documents({}) == 0  # released once done
    resp = await api.client.post("/api/v1/privacy/retention/run", headers=admin["headers"])
    assert resp.status == 200 and (await resp.json())["done"]["dead_letters"] == 0


async def test_processing_register(api: Api) -> None:
    admin = await api.user(Role.admin)
    resp = await api.client.get("/api/v1/privacy/register", headers=admin["headers"])
    reg = await resp.json()
    assert {a["id"] for a in reg["activities"]} >= {"support", "channels", "integrations", "staff", "consent"}
    assert all("legal_basis" in a and "retention" in a for a in reg["activities"])
    [searches] = [a for a in reg["activities"] if "search_queries" in a["collections"]]
    assert searches["retention_days"] == 90 and searches["retention"] == "90 days"
    resp = await api.client.get("/api/v1/privacy/register.html", headers=admin["headers"])
    assert resp.status == 200 and "<table" in await resp.text()
    agent = await api.user(Role.agent)
    assert (await api.client.get("/api/v1/privacy/register", headers=agent["headers"])).status == 403


PORTAL_EMAIL = "megan.portal@example.com"


async def _portal_customer(api: Api, admin: dict[str, Any]) -> str:
    """A contact with a ticket and a portal user created through the API (so audited)."""
    result = await api.app[keys.INBOX].ingest(InboundMessage(
        channel=Channel.email, external_id="<megan@mail>", sender=SenderIdentity(kind="email", value=EMAIL),
        sender_name="Megan Portal", subject="Deposit", text="Where is my deposit?"))
    resp = await api.client.post("/api/v1/users", headers=admin["headers"], json={
        "email": PORTAL_EMAIL, "password": "correct horse", "role": "customer", "name": "Megan Portal",
        "contact_id": result.conversation.contact_id})
    assert resp.status == 201, await resp.text()
    return result.conversation.contact_id


async def test_erasure_signs_the_portal_user_out_at_once(api: Api) -> None:
    """The portal user's live access tokens and help-center cookie stop working at once, not at
    their expiry (the token carries the old name)."""
    admin = await api.user(Role.admin)
    cid = await _portal_customer(api, admin)
    login = await api.client.post("/api/v1/auth/login",
                                  json={"email": PORTAL_EMAIL, "password": "correct horse"})
    bearer = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
    resp = await api.client.post("/help/signin", data={"email": PORTAL_EMAIL, "password": "correct horse",
                                                        "next": "/help/en/tickets"}, allow_redirects=False)
    assert resp.status == 303
    assert (await api.client.get("/api/v1/auth/me", headers=bearer)).status == 200
    assert (await api.client.get("/api/v1/conversations", headers=bearer)).status == 200
    assert (await api.client.get("/help/en/tickets", allow_redirects=False)).status == 200
    [user_id] = [d["_id"] async for d in api.app[keys.STORE].users.find({"contact_id": cid}, {"_id": 1})]
    assert await api.app[keys.STORE]["sessions"].count_documents({"user_id": user_id}) >= 1  # IP, browser

    resp = await api.client.post(f"/api/v1/contacts/{cid}/erase", headers=admin["headers"],
                                 json={"confirm": cid})
    assert resp.status == 200, await resp.text()

    assert (await api.client.get("/api/v1/auth/me", headers=bearer)).status == 401
    assert (await api.client.get("/api/v1/conversations", headers=bearer)).status == 401
    resp = await api.client.get("/help/en/tickets", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/help/signin")
    page = await (await api.client.get("/help/en")).text()
    assert "Megan" not in page and "Sign out" not in page
    assert await api.app[keys.STORE]["sessions"].count_documents({"user_id": user_id}) == 0


async def test_erasure_scrubs_the_audit_entries_about_the_portal_user(api: Api) -> None:
    admin = await api.user(Role.admin)
    cid = await _portal_customer(api, admin)
    [user_doc] = [d async for d in api.app[keys.STORE].users.find({"contact_id": cid})]
    resp = await api.client.patch(f"/api/v1/users/{user_doc['_id']}", headers=admin["headers"],
                                  json={"name": "Megan P. Portal"})
    assert resp.status == 200
    resp = await api.client.get("/api/v1/audit/export.csv", headers=admin["headers"])
    assert "megan.portal" in (await resp.text()).lower()  # the check below does see it before
    resp = await api.client.get(f"/api/v1/contacts/{cid}/export", headers=admin["headers"])
    audit = json.loads(zipfile.ZipFile(io.BytesIO(await resp.read())).read("audit.json"))
    assert {"user.create", "user.update"} <= {e["action"] for e in audit}  # the subject's, so exported

    resp = await api.client.post(f"/api/v1/contacts/{cid}/erase", headers=admin["headers"],
                                 json={"confirm": cid})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["counts"]["audit_scrubbed"] >= 2
    for path in ("/api/v1/audit?limit=200", "/api/v1/audit/export.csv", "/api/v1/audit/export.json"):
        resp = await api.client.get(path, headers=admin["headers"])
        assert resp.status == 200, path
        text = (await resp.text()).lower()
        assert "megan" not in text, path
    # who did what to which user, and when, remains
    entries = await api.app[keys.AUDIT].list("user", user_doc["_id"])
    assert {e["action"] for e in entries} == {"user.create", "user.update"}
    assert all(e["actor_id"] == admin["user"]["id"] and e["after"] is None for e in entries)


async def test_merging_contacts_keeps_the_newest_consent_per_purpose(api: Api) -> None:
    """A duplicate's later withdrawal survives the merge: the records move to the survivor and its
    current state per purpose is the newest record's."""
    admin = await api.user(Role.admin)
    h = admin["headers"]
    a = (await (await api.client.post("/api/v1/contacts", headers=h, json={"name": "Ayanda"})).json())["id"]
    b = (await (await api.client.post("/api/v1/contacts", headers=h, json={"name": "Ayanda M"})).json())["id"]
    records = ((a, "marketing", True, "import"), (a, "surveys", False, "agent"),
               (b, "marketing", False, "web_form"), (b, "surveys", True, "old"),
               (a, "surveys", True, "agent"), (b, "whatsapp_updates", True, "whatsapp"))
    for cid, purpose, granted, source in records:
        resp = await api.client.post(f"/api/v1/contacts/{cid}/consents", headers=h,
                                     json={"purpose": purpose, "granted": granted, "source": source})
        assert resp.status == 201
    resp = await api.client.post(f"/api/v1/contacts/{b}/merge", headers=h, json={"into": a})
    assert resp.status == 200, await resp.text()
    consent = (await resp.json())["consent"]
    assert consent["marketing"]["granted"] is False and consent["marketing"]["source"] == "web_form"
    assert consent["surveys"]["granted"] is True and consent["surveys"]["source"] == "agent"  # a's is newer
    assert consent["whatsapp_updates"]["granted"] is True
    resp = await api.client.get(f"/api/v1/contacts/{a}/consents?purpose=marketing", headers=h)
    assert [(c["granted"], c["source"]) for c in (await resp.json())["items"]] == [(False, "web_form"),
                                                                                    (True, "import")]
    resp = await api.client.get(f"/api/v1/contacts/{a}/consents", headers=h)
    assert len((await resp.json())["items"]) == 6
    stored = await api.app[keys.STORE].contacts.find_one({"_id": a})
    assert {k: (v["granted"], v["source"]) for k, v in stored["consent"].items()} == {
        k: (v["granted"], v["source"]) for k, v in consent.items()}
    # run again (an interrupted merge is finished that way): the same state
    resp = await api.client.post(f"/api/v1/contacts/{b}/merge", headers=h, json={"into": a})
    assert resp.status == 200 and (await resp.json())["consent"] == consent


async def test_an_erased_persons_open_tickets_are_closed(api: Api) -> None:
    """Left open, they waited in the agents' queue with nothing to answer (a reply failed: no address
    left), their SLA clocks running."""
    admin = await api.user(Role.admin)
    cid = await _portal_customer(api, admin)
    store = api.app[keys.STORE]
    [ticket] = [d async for d in store.conversations.find({"contact_id": cid})]
    assert ticket["status"] == "open"
    resp = await api.client.post(
        f"/api/v1/contacts/{cid}/erase", headers=admin["headers"], json={"confirm": cid}
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["counts"]["tickets_closed"] == 1
    after = await store.conversations.find_one({"_id": ticket["_id"]})
    assert after["status"] == "closed" and after["erased"] is True and after["subject"] == ""
    queue = await (await api.client.get("/api/v1/queue", headers=admin["headers"])).json()
    assert ticket["_id"] not in {c["id"] for c in queue}
    resp = await api.client.post(
        f"/api/v1/contacts/{cid}/erase", headers=admin["headers"], json={"confirm": cid}
    )
    assert resp.status == 200 and (await resp.json())["counts"]["tickets_closed"] == 0  # idempotent
