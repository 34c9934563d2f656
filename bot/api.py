"""The bot's REST routes: knowledge-base search for the Rasa action server (it has only an API key
and HTTP), and the bot on/off switch per inbox."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urljoin

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub import keys
from hub.api.routing import ApiRouter
from hub.auth import Principal
from hub.errors import Conflict, InvalidInput

from .settings import ANSWERABLE

router = ApiRouter()


class BotKbQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field(min_length=1, max_length=500)
    limit: int = Field(3, ge=1, le=10)
    audience: Literal["consumer", "provider"] = Field(
        "consumer", description="provider: provider-only articles are answers too")


class BotKbHit(BaseModel):
    id: str
    title: str
    summary: str = ""
    url: str = ""
    score: float = 0.0


class BotInboxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class BotInboxOut(BaseModel):
    inbox: str
    enabled: bool


@router.route("GET", "/bot/kb-search", summary="Knowledge-base answers for the bot (top articles)", tag="bot",
              permission="articles:read", query=BotKbQuery, response=list[BotKbHit])
async def kb_search(request: web.Request, _: Principal, query: BotKbQuery) -> list[BotKbHit]:
    from knowledge_base.search.base import SearchQuery

    from .engine import article_visibilities

    hits = await search_articles(request.app, SearchQuery(text=query.q, limit=query.limit,
                                                          visibilities=article_visibilities(query.audience)))
    return [BotKbHit(id=h.id, title=h.title, summary=h.summary, url=h.url, score=h.score) for h in hits]


async def search_articles(app: web.Application, query: Any) -> list[Any]:
    """The knowledge base's hits for a customer (both engines: this route, and the embedded engine
    directly), [] until the knowledge base is up. Articles' URLs are the help center's paths; a
    customer on WhatsApp needs the whole link."""
    backend: Any = app[keys.EXTENSIONS].get("knowledge_base")
    if backend is None:
        return []
    base = app[keys.SETTINGS].base_url + "/"
    hits = await backend.search(query)
    return [h.model_copy(update={"url": urljoin(base, h.url)}) if h.url else h for h in hits]


@router.route("GET", "/bot/inboxes", tag="bot",
              summary="Each inbox the bot can answer, and whether it answers there first",
              permission="conversations:read", response=list[BotInboxOut])
async def list_inboxes(request: web.Request, _: Principal) -> list[BotInboxOut]:
    service = request.app[keys.EXTENSIONS].get("bot")  # None: BERRY_BOT_ENGINE=off, no inbox has it
    on = service.inboxes if service else set()
    return [BotInboxOut(inbox=name, enabled=name in on) for name in ANSWERABLE]


@router.route("PUT", "/bot/inboxes/{inbox}", summary="Turn the bot on or off for an inbox", tag="bot",
              permission="teams:write", body=BotInboxIn, response=BotInboxOut)
async def set_inbox(request: web.Request, principal: Principal, body: BotInboxIn) -> BotInboxOut:
    inbox = request.match_info["inbox"]
    if inbox not in ANSWERABLE:
        raise InvalidInput(f"the bot cannot answer inbox {inbox[:40]!r}: one of {', '.join(ANSWERABLE)}",
                           field="inbox")
    service = request.app[keys.EXTENSIONS].get("bot")
    if service is None:
        raise Conflict("the bot is off on this hub (BERRY_BOT_ENGINE=off): no inbox can be switched")
    await service.set_inbox(inbox, body.enabled)
    await request.app[keys.AUDIT].record(principal.actor_id, "bot.inbox", "inbox", inbox,
                                         after={"enabled": body.enabled})
    return BotInboxOut(inbox=inbox, enabled=body.enabled)
