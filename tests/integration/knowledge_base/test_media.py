"""Article media, FAQ entries and video tutorials through the API and the help center: uploads to
GridFS, who may fetch a file, Range requests, FAQ answers and transcripts being searched, bad input."""

from __future__ import annotations

import base64
from typing import Any

from hub import keys
from hub.models import Role

from .test_articles_api import run_jobs

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
WEBM = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 8  # an EBML header and filler: served, not decoded here
VTT = b"WEBVTT\n\n00:00.000 --> 00:02.000\nOpen the Berry app and tap Payouts.\n"


async def upload(client: Any, headers: dict[str, str], data: bytes, content_type: str, name: str) -> Any:
    return await client.post(
        "/api/v1/kb/media", data=data, headers={**headers, "Content-Type": content_type, "X-Filename": name}
    )


async def test_media_faq_and_video_articles(client: Any, api: Any) -> None:
    app = client.server.app
    admin = (await api.user(Role.admin))["headers"]
    image = await (await upload(client, admin, PNG, "image/png", "pay-screen.png")).json()
    pdf = await (
        await upload(client, admin, b"%PDF-1.4 tariff sheet", "application/pdf", "../tariffs.pdf")
    ).json()
    video = await (await upload(client, admin, WEBM, "video/webm", "payouts.webm")).json()
    captions = await (await upload(client, admin, VTT, "text/vtt", "payouts.vtt")).json()
    assert pdf["filename"] == ".._tariffs.pdf" and pdf["url"] == f"/help/media/{pdf['blob_id']}"

    faq = await client.post(
        "/api/v1/articles",
        headers=admin,
        json={
            "title": "Deposits FAQ",
            "kind": "faq",
            "status": "published",
            "category": "payments",
            "body": f"![The pay screen](/help/media/{image['blob_id']})",
            "faq": [
                {"question": "Can I split the deposit?", "answer": "Yes, into **two** instalments via EFT."},
                {"question": "Is it safe?", "answer": "<script>alert(1)</script>Held in escrow."},
            ],
            "attachments": [{"blob_id": pdf["blob_id"]}],
        },
    )
    assert faq.status == 201, await faq.text()
    faq_body = await faq.json()
    assert faq_body["faq"][0]["answer_html"] == "<p>Yes, into <strong>two</strong> instalments via EFT.</p>"
    assert "<script>" not in faq_body["faq"][1]["answer_html"]
    assert faq_body["attachments"][0] == {
        "blob_id": pdf["blob_id"],
        "filename": ".._tariffs.pdf",
        "content_type": "application/pdf",
        "size": 21,
    }
    tutorial = await client.post(
        "/api/v1/articles",
        headers=admin,
        json={
            "title": "Video: set up payouts",
            "kind": "video",
            "status": "published",
            "visibility": "providers",
            "category": "providers",
            "video": {
                "blob_id": video["blob_id"],
                "captions_blob_id": captions["blob_id"],
                "transcript": "Open the Berry app, tap Payouts and add your IBAN.",
            },
        },
    )
    assert tutorial.status == 201, await tutorial.text()
    await run_jobs(app)

    hits = (await (await client.get("/api/v1/kb/search?q=instalments")).json())["hits"]
    assert hits and hits[0]["title"] == "Deposits FAQ"  # found by an FAQ answer
    provider = (await api.user(Role.provider))["headers"]
    hits = (await (await client.get("/api/v1/kb/search?q=IBAN", headers=provider)).json())["hits"]
    assert hits and hits[0]["title"] == "Video: set up payouts"  # found by the transcript
    assert (await (await client.get("/api/v1/kb/search?q=IBAN")).json())["hits"] == []

    page = await (await client.get("/help/en/articles/deposits-faq")).text()
    assert "Frequently asked questions" in page and "<summary>Can I split the deposit?</summary>" in page
    assert f'src="/help/media/{image["blob_id"]}"' in page and "tariffs.pdf" in page
    img = await client.get(image["url"])
    assert img.status == 200 and img.content_type == "image/png" and await img.read() == PNG
    assert (
        img.headers["X-Content-Type-Options"] == "nosniff"
        and "sandbox" in img.headers["Content-Security-Policy"]
    )
    doc = await client.get(pdf["url"])
    # the one header rule of every download (hub.platform.blobs.content_disposition)
    assert doc.headers["Content-Disposition"] == 'attachment; filename="_tariffs.pdf"'

    # The provider-only tutorial's files are as private as its text.
    assert (await client.get(video["url"])).status == 404
    assert (await client.get("/help/en/articles/video-set-up-payouts")).status == 404
    partial = await client.get(video["url"], headers={**provider, "Range": "bytes=4-11"})
    assert partial.status == 206 and await partial.read() == WEBM[4:12]
    assert partial.headers["Content-Range"] == f"bytes 4-11/{len(WEBM)}"
    assert (await client.get(video["url"], headers={**provider, "Range": "bytes=99999-"})).status == 416
    page = await (await client.get("/help/en/articles/video-set-up-payouts", headers=provider)).text()
    assert f'<video controls preload="metadata" src="/help/media/{video["blob_id"]}"' in page
    assert 'kind="captions"' in page and "add your IBAN" in page
    for bad_id in ("0" * 24, "not-an-id", "../../etc"):
        assert (await client.get(f"/help/media/{bad_id}", headers=admin)).status == 404


async def test_media_bad_input(client: Any, api: Any) -> None:
    admin = (await api.user(Role.admin))["headers"]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
    assert (await upload(client, admin, svg, "image/svg+xml", "x.svg")).status == 415
    assert (await upload(client, admin, b"<html>", "text/html", "x.html")).status == 415
    assert (await upload(client, admin, b"", "image/png", "empty.png")).status == 422
    assert (await upload(client, admin, b"x" * (10 * 1024 * 1024 + 1), "image/png", "big.png")).status == 413
    customer = (await api.user(Role.customer))["headers"]
    assert (await upload(client, customer, PNG, "image/png", "a.png")).status == 403
    pdf = await (await upload(client, admin, b"%PDF-1.4", "application/pdf", "a.pdf")).json()

    async def create(**fields: Any) -> int:
        resp = await client.post(
            "/api/v1/articles", headers=admin, json={"title": f"Bad {len(fields)}", **fields}
        )
        return resp.status

    assert await create(attachments=[{"blob_id": "0" * 24}]) == 422  # unknown upload
    assert await create(body=f"![x](/help/media/{pdf['blob_id']})") == 422  # a PDF is not an image
    assert await create(kind="video") == 422 and await create(kind="faq") == 422
    assert await create(video={"blob_id": pdf["blob_id"]}) == 422  # not a video
    assert await create(faq=[{"question": "?", "answer": ""}]) == 422
    assert await client.server.app[keys.STORE]["articles"].count_documents({}) == 0
