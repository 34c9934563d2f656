"""Users: staff (admin, supervisor, agent) and portal users (provider, customer)."""

from __future__ import annotations

from typing import Any

from pymongo.errors import DuplicateKeyError

from hub.errors import Conflict, InvalidInput, NotFound, Unauthorized
from hub.identity import normalize_email
from hub.models import Role, User
from hub.store import Store

from .passwords import MIN_LENGTH, Passwords

STAFF_ROLES = ("admin", "supervisor", "agent")


async def check_assignable(store: Store, user_id: str, field: str = "assignee_id") -> None:
    """Tickets are assigned to active staff only (not portal users, not deactivated users):
    InvalidInput naming ``field`` otherwise. One read by the lone ``_id``."""
    doc = await store.users.find_one({"_id": user_id}, {"role": 1, "active": 1})
    if doc is None or doc.get("role") not in STAFF_ROLES or not doc.get("active", True):
        raise InvalidInput(f"{user_id} is not an active agent", field=field)


class Users:
    def __init__(self, store: Store, passwords: Passwords | None = None) -> None:
        self.store = store
        self.passwords = passwords or Passwords()

    async def create(self, email: str, password: str, role: Role, name: str = "",
                     team_ids: list[str] | None = None, contact_id: str | None = None) -> User:
        if len(password) < MIN_LENGTH:
            raise InvalidInput(f"password must have at least {MIN_LENGTH} characters", field="password")
        user = User(email=normalize_email(email, "email"), name=name, role=role, team_ids=team_ids or [],
                    contact_id=contact_id, password_hash=await self.passwords.hash(password))
        try:
            await self.store.users.insert_one(user.to_doc())
        except DuplicateKeyError as exc:
            raise Conflict(f"a user with e-mail {user.email} exists", field="email") from exc
        return user

    async def get(self, user_id: str) -> User:
        doc = await self.store.users.find_one({"_id": user_id})
        if doc is None:
            raise NotFound(f"user {user_id} not found")
        return User.from_doc(doc)

    async def authenticate(self, email: str, password: str) -> User:
        try:
            address = normalize_email(email)
        except InvalidInput:
            address = email
        doc = await self.store.users.find_one({"email": address})
        # Verify against a dummy hash when the user is unknown so timing does not reveal accounts.
        user = User.from_doc(doc) if doc else None
        ok = await self.passwords.verify(user.password_hash if user else self.passwords.dummy_hash, password)
        if not (user and ok and user.active):
            raise Unauthorized("wrong e-mail or password")
        return user

    async def update(self, user_id: str, changes: dict[str, Any]) -> User:
        if "password" in changes:
            password = changes.pop("password")
            if len(password) < MIN_LENGTH:
                raise InvalidInput(f"password must have at least {MIN_LENGTH} characters", field="password")
            changes["password_hash"] = await self.passwords.hash(password)
        result = await self.store.users.update_one({"_id": user_id}, {"$set": changes})
        if result.matched_count == 0:
            raise NotFound(f"user {user_id} not found")
        return await self.get(user_id)

    async def list(self, role: Role | None = None) -> list[User]:
        flt = {"role": role.value} if role else {}
        return [User.from_doc(d) async for d in self.store.users.find(flt).sort("email", 1)]

    async def count(self) -> int:
        return await self.store.users.count_documents({})

