"""Secure headers, sessions (list/revoke, refresh rotation with reuse detection), TOTP 2FA,
rotation of the secrets key, through the real app."""

from __future__ import annotations

import time

import pyotp
import pytest

from hub import keys
from hub.models import Role
from hub.platform.appkeys import SECRETS, TOTP, WEBHOOKS
from hub.platform.secrets import SecretBox, SecretError

from ...conftest import Api, running

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"


async def test_secure_headers_everywhere(api: Api) -> None:
    for path in ("/api/v1/conversations", "/healthz", "/api/docs", "/api/v1/openapi.json", "/nope"):
        resp = await api.client.get(path, allow_redirects=False)
        h = resp.headers
        assert h["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"], path
        assert h["X-Frame-Options"] == "DENY" and "Referrer-Policy" in h, path
        assert "Strict-Transport-Security" not in h, path  # plain http
    resp = await api.client.get("/api/v1/conversations")
    assert resp.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("platform_overrides", [{"ratelimit_trust_forwarded": True}])
async def test_hsts_behind_an_https_proxy(api: Api) -> None:
    resp = await api.client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=31536000")


async def _login(api: Api, email: str, ua: str = "pytest", otp: str | None = None) -> dict:
    body = {"email": email, "password": "correct horse", **({"otp": otp} if otp else {})}
    resp = await api.client.post(LOGIN, json=body, headers={"User-Agent": ua})
    return {"status": resp.status, **(await resp.json())}


async def test_sessions_list_and_revoke(api: Api) -> None:
    await api.app[keys.USERS].create("sess@example.com", "correct horse", Role.agent)
    laptop = await _login(api, "sess@example.com", "laptop")
    phone = await _login(api, "sess@example.com", "phone")
    h = {"Authorization": f"Bearer {laptop['access_token']}"}
    resp = await api.client.get("/api/v1/auth/sessions", headers=h)
    sessions = (await resp.json())["items"]
    assert [s["user_agent"] for s in sessions] == ["phone", "laptop"] and all(s["active"] for s in sessions)
    resp = await api.client.get("/api/v1/auth/sessions?sort=created_at&limit=1", headers=h)
    page = await resp.json()
    assert [s["user_agent"] for s in page["items"]] == ["laptop"] and page["next_cursor"]
    resp = await api.client.get(
        f"/api/v1/auth/sessions?sort=created_at&cursor={page['next_cursor']}", headers=h
    )
    assert [s["user_agent"] for s in (await resp.json())["items"]] == ["phone"]
    for bad in ("sort=ip", "cursor=xyz", "limit=500", "user_id=other"):
        assert (await api.client.get(f"/api/v1/auth/sessions?{bad}", headers=h)).status == 400, bad
    assert sessions[0]["ip"] == "127.0.0.1"
    resp = await api.client.delete(f"/api/v1/auth/sessions/{sessions[0]['id']}", headers=h)
    assert resp.status == 204
    assert (await api.client.post(REFRESH, json={"refresh_token": phone["refresh_token"]})).status == 401
    assert (await api.client.post(REFRESH, json={"refresh_token": laptop["refresh_token"]})).status == 200
    resp = await api.client.get("/api/v1/auth/sessions", headers=h)
    assert [s["active"] for s in (await resp.json())["items"]] == [False, True]
    # someone else's session id is not found, not revoked
    other = await api.user(Role.agent)
    resp = await api.client.delete(f"/api/v1/auth/sessions/{sessions[1]['id']}", headers=other["headers"])
    assert resp.status == 404
    # admins sign a user out everywhere
    admin = await api.user(Role.admin)
    user_id = laptop["user"]["id"]
    assert (
        await api.client.delete(f"/api/v1/users/{user_id}/sessions", headers=admin["headers"])
    ).status == 204
    resp = await api.client.get(f"/api/v1/users/{user_id}/sessions", headers=admin["headers"])
    assert not any(s["active"] for s in (await resp.json())["items"])


async def test_revoking_a_session_cuts_its_live_access_token(api: Api) -> None:
    """No waiting for the access token's TTL: the next request with it is refused."""
    await api.app[keys.USERS].create("cut@example.com", "correct horse", Role.agent)
    laptop = await _login(api, "cut@example.com", "laptop")
    phone = await _login(api, "cut@example.com", "phone")
    on_laptop = {"Authorization": f"Bearer {laptop['access_token']}"}
    on_phone = {"Authorization": f"Bearer {phone['access_token']}"}
    assert (await api.client.get("/api/v1/auth/me", headers=on_phone)).status == 200
    sessions = (await (await api.client.get("/api/v1/auth/sessions", headers=on_laptop)).json())["items"]
    phone_session = next(s["id"] for s in sessions if s["user_agent"] == "phone")
    assert (
        await api.client.delete(f"/api/v1/auth/sessions/{phone_session}", headers=on_laptop)
    ).status == 204
    cut = await api.client.get("/api/v1/auth/me", headers=on_phone)
    assert cut.status == 401 and "revoked" in (await cut.json())["detail"]
    assert (await api.client.get("/api/v1/auth/me", headers=on_laptop)).status == 200  # the other one lives
    # refreshed tokens belong to the same session and stay cut too
    refreshed = await api.client.post(REFRESH, json={"refresh_token": laptop["refresh_token"]})
    on_laptop2 = {"Authorization": f"Bearer {(await refreshed.json())['access_token']}"}
    admin = await api.user(Role.admin)
    user_id = laptop["user"]["id"]
    assert (
        await api.client.delete(f"/api/v1/users/{user_id}/sessions", headers=admin["headers"])
    ).status == 204
    for headers in (on_laptop, on_laptop2):
        assert (await api.client.get("/api/v1/auth/me", headers=headers)).status == 401
    # deactivating a user (DELETE /users/{id}) cuts their tokens as well
    victim = await api.user(Role.agent)
    assert (
        await api.client.delete(f"/api/v1/users/{victim['user']['id']}", headers=admin["headers"])
    ).status == 204
    assert (await api.client.get("/api/v1/auth/me", headers=victim["headers"])).status == 401
    user = await (
        await api.client.get(f"/api/v1/users/{victim['user']['id']}", headers=admin["headers"])
    ).json()
    assert user["active"] is False
    # the check is one read by _id of revoked_sessions
    assert await api.app[keys.STORE]["revoked_sessions"].count_documents({"user_id": user_id}) == 2


async def test_refresh_rotation_and_reuse_detection(api: Api) -> None:
    await api.app[keys.USERS].create("rot@example.com", "correct horse", Role.agent)
    first = await _login(api, "rot@example.com")
    resp = await api.client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    second = await resp.json()
    assert resp.status == 200 and second["refresh_token"] != first["refresh_token"]
    resp = await api.client.post(REFRESH, json={"refresh_token": first["refresh_token"]})  # replayed
    assert resp.status == 401 and "reuse" in (await resp.json())["detail"]
    # the whole family is revoked: the thief's and the user's newer token both stop working
    assert (await api.client.post(REFRESH, json={"refresh_token": second["refresh_token"]})).status == 401
    for bad in ("", "x" * 201, "garbage"):
        assert (await api.client.post(REFRESH, json={"refresh_token": bad})).status in (401, 422)


async def test_totp_enrolment_login_and_replay(api: Api) -> None:
    await api.app[keys.USERS].create("2fa@example.com", "correct horse", Role.supervisor)
    tokens = await _login(api, "2fa@example.com")
    h = {"Authorization": f"Bearer {tokens['access_token']}"}
    resp = await api.client.post("/api/v1/auth/totp/setup", headers=h)
    setup = await resp.json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/") and "secret" in setup
    stored = await api.app[keys.STORE]["user_totp"].find_one({})
    assert setup["secret"] not in str(stored)  # encrypted at rest
    totp = pyotp.TOTP(setup["secret"])
    # not on until confirmed
    assert (await _login(api, "2fa@example.com"))["status"] == 200
    resp = await api.client.post("/api/v1/auth/totp/confirm", headers=h, json={"code": "000000"})
    assert resp.status == 401
    resp = await api.client.post("/api/v1/auth/totp/confirm", headers=h, json={"code": totp.now()})
    assert resp.status == 200, await resp.text()

    no_code = await _login(api, "2fa@example.com")
    assert no_code["status"] == 401 and no_code["field"] == "otp"
    next_code = totp.at(time.time() + 30)  # the next step (one step of skew is accepted)
    ok = await _login(api, "2fa@example.com", otp=next_code)
    assert ok["status"] == 200
    replay = await _login(api, "2fa@example.com", otp=next_code)
    assert replay["status"] == 401 and "already used" in replay["detail"]
    assert (await _login(api, "2fa@example.com", otp="12345a"))["status"] in (401, 422)
    # lost device: an admin resets it, with an audit record
    admin = await api.user(Role.admin)
    user_id = tokens["user"]["id"]
    assert (await api.client.delete(f"/api/v1/users/{user_id}/totp", headers=admin["headers"])).status == 204
    assert (await _login(api, "2fa@example.com"))["status"] == 200
    assert "user.totp.reset" in [a["action"] for a in await api.app[keys.AUDIT].list("user", user_id)]


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", {"$gt": ""}, 123456])
async def test_bad_totp_codes_are_refused(api: Api, code: object) -> None:
    user = await api.user(Role.agent)
    await api.client.post("/api/v1/auth/totp/setup", headers=user["headers"])
    resp = await api.client.post("/api/v1/auth/totp/confirm", headers=user["headers"], json={"code": code})
    assert resp.status == 422
    assert not await api.app[TOTP].enabled(user["user"]["id"])


async def test_api_key_has_no_sessions_or_totp(api: Api) -> None:
    _, secret = await api.app[keys.API_KEYS].create("crm", Role.admin, None)
    resp = await api.client.get("/api/v1/auth/sessions", headers={"X-Api-Key": secret})
    assert resp.status == 404


async def test_secrets_key_rotation(api: Api) -> None:
    admin = await api.user(Role.admin)
    resp = await api.client.post("/api/v1/webhooks", headers=admin["headers"],
                                 json={"url": "https://example.com/hook", "events": ["*"]})
    hook = await resp.json()
    old_box: SecretBox = api.app[SECRETS]
    new_key = SecretBox.new_key()
    old_key = api.app[keys.EXTENSIONS]["platform"]["webhooks"].settings.secret_keys.get_secret_value()
    # what a restart with BERRY_SECRET_KEYS="<new>,<old>" gives the services
    both = SecretBox([new_key, old_key])
    api.app[WEBHOOKS].box = both
    api.app[TOTP].box = both
    resp = await api.client.post("/api/v1/platform/secrets/rotate", headers=admin["headers"])
    assert resp.status == 200 and (await resp.json())["webhooks"] == 1
    stored = await api.app[keys.STORE]["webhooks"].find_one({"_id": hook["id"]})
    assert SecretBox([new_key]).decrypt(stored["secret_enc"]) == hook["secret"]
    with pytest.raises(SecretError):
        old_box.decrypt(stored["secret_enc"])
    sup = await api.user(Role.supervisor)
    assert (await api.client.post("/api/v1/platform/secrets/rotate", headers=sup["headers"])).status == 403


@pytest.mark.parametrize("platform_overrides", [{"ratelimit_trust_forwarded": True,
                                                 "ip_allowlist": {"admin": ["10.0.0.0/8", "2001:db8::/32"]}}])
async def test_ip_allowlist_per_role(api: Api) -> None:
    admin = await api.user(Role.admin)
    agent = await api.user(Role.agent)
    inside = {**admin["headers"], "X-Forwarded-For": "10.1.2.3"}
    outside = {**admin["headers"], "X-Forwarded-For": "203.0.113.9"}
    assert (await api.client.get("/api/v1/users", headers=inside)).status == 200
    resp = await api.client.get("/api/v1/users", headers=outside)
    assert resp.status == 403 and "network" in (await resp.json())["detail"]
    resp = await api.client.get(
        "/api/v1/users", headers={**admin["headers"], "X-Forwarded-For": "2001:db8::1"}
    )
    assert resp.status == 200
    # roles without a list are not restricted
    resp = await api.client.get(
        "/api/v1/conversations", headers={**agent["headers"], "X-Forwarded-For": "203.0.113.9"}
    )
    assert resp.status == 200


def test_malformed_allowlist_is_refused_at_start() -> None:
    from pydantic import ValidationError

    from hub.platform.settings import PlatformSettings

    with pytest.raises(ValidationError):
        PlatformSettings(_env_file=None, ip_allowlist={"admin": ["10.0.0.0/33"]})  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        PlatformSettings(_env_file=None, ip_allowlist={"root": ["10.0.0.0/8"]})  # type: ignore[call-arg]


async def test_csrf_origin_check_for_cookie_requests(settings, platform_settings) -> None:  # type: ignore[no-untyped-def]
    from aiohttp import web

    from hub.app import create_app
    from hub.platform.settings import PLATFORM_SETTINGS

    app = create_app(settings)
    app[PLATFORM_SETTINGS] = platform_settings
    hits: list[str] = []

    async def form(_: web.Request) -> web.Response:
        hits.append("x")
        return web.Response(text="done")

    app.router.add_post("/help/test-form", form)
    async with running(app) as client:
        own = f"http://{client.server.host}:{client.server.port}"
        cookie = {"Cookie": "berry_help=abc"}
        cases = [
            ({**cookie, "Origin": "https://evil.example"}, 403),
            ({**cookie, "Origin": "null"}, 403),
            ({**cookie, "Referer": "https://evil.example/page"}, 403),
            ({**cookie, "Origin": own}, 200),
            ({**cookie, "Referer": own + "/help/en"}, 200),
            (cookie, 200),  # no Origin/Referer: not a browser cross-site request
            ({"Origin": "https://evil.example"}, 200),  # no cookie: no ambient credential to abuse
        ]
        for headers, status in cases:
            resp = await client.post("/help/test-form", headers=headers, data=b"a=1")
            assert resp.status == status, (headers, resp.status)
        assert len(hits) == 4

