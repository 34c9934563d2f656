"""TOTP two-factor authentication (RFC 6238 via pyotp) for users.

Enrolment is two steps: ``setup`` stores a new secret (encrypted at rest) as unconfirmed and
returns it with its ``otpauth://`` URI; ``confirm`` with a valid code switches it on. From then on
sign-in needs the current code. A code's time step is remembered, so the same code cannot be
replayed within its validity window.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pyotp

from hub.errors import Conflict, InvalidInput, Unauthorized
from hub.models import is_digits, utcnow
from hub.store import Store, register, upsert

from ..secrets import SecretBox

register("user_totp")  # _id = user id
# _id = "<user id>:<time step>": one sign-in per code (a step is 30 s; kept a day)
STEP_CLAIMS = "totp_steps"
register(STEP_CLAIMS, expire=("created_at", timedelta(days=1)))
ISSUER = "Berry Support Hub"
STEP = 30


class Totp:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self.store = store
        self.col = store["user_totp"]
        self.box = box

    async def enabled(self, user_id: str) -> bool:
        doc = await self.col.find_one({"_id": user_id}, {"confirmed": 1})  # lone _id, then the check
        return doc is not None and doc.get("confirmed") is True

    async def setup(self, user_id: str, email: str) -> dict[str, str]:
        if await self.enabled(user_id):
            raise Conflict("two-factor authentication is already on; disable it first")
        secret = pyotp.random_base32()
        await upsert(self.col, {"_id": user_id}, {"_id": user_id, "secret_enc": self.box.encrypt(secret),
                                                  "confirmed": False, "last_step": 0, "created_at": utcnow()},
                     replace=True)
        uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
        return {"secret": secret, "otpauth_uri": uri}

    async def _check(self, doc: dict[str, Any], code: str | None) -> None:
        if not code or not is_digits(code) or len(code) != 6:
            raise Unauthorized("a 6-digit two-factor code is required", field="otp")
        totp = pyotp.TOTP(self.box.decrypt(doc["secret_enc"]))
        now = time.time()
        for drift in (0, -1, 1):  # accept one step of clock skew either way
            step = int(now // STEP) + drift
            if totp.verify(code, for_time=step * STEP, valid_window=0):
                if step <= doc.get("last_step", 0):
                    raise Unauthorized("two-factor code already used", field="otp")
                # Claim the step: a concurrent replay of the same code loses. An _id claim, as a
                # filtered update on last_step is neither serialized nor indexed on FerretDB.
                if not await self.store.claim(STEP_CLAIMS, f"{doc['_id']}:{step}", {"created_at": utcnow()}):
                    raise Unauthorized("two-factor code already used", field="otp")
                await self.col.update_one({"_id": doc["_id"]}, {"$max": {"last_step": step}})
                return
        raise Unauthorized("wrong two-factor code", field="otp")

    async def confirm(self, user_id: str, code: str) -> None:
        doc = await self.col.find_one({"_id": user_id})
        if doc is None:
            raise InvalidInput("start with POST /auth/totp/setup", field="code")
        if doc["confirmed"]:
            raise Conflict("two-factor authentication is already on")
        await self._check(doc, code)
        await self.col.update_one({"_id": user_id}, {"$set": {"confirmed": True, "confirmed_at": utcnow()}})

    async def verify(self, user_id: str, code: str | None) -> None:
        """At sign-in: passes when 2FA is off, else needs a fresh valid code."""
        doc = await self.col.find_one({"_id": user_id})
        if doc is not None and doc.get("confirmed") is True:
            await self._check(doc, code)

    async def disable(self, user_id: str) -> bool:
        result = await self.col.delete_one({"_id": user_id})
        return result.deleted_count == 1

    async def reencrypt(self) -> int:
        n = 0
        async for doc in self.col.find({}, {"secret_enc": 1}):
            await self.col.update_one(
                {"_id": doc["_id"]}, {"$set": {"secret_enc": self.box.rotate(doc["secret_enc"])}}
            )
            n += 1
        return n
