"""Help-center pages: server-rendered (Jinja2, autoescaped), usable without JavaScript; help.js
adds search-as-you-type and an in-page "was this helpful?" vote.

Who sees what comes from the signed-in user (the ``berry_help`` cookie holds the access token set
by /help/signin, or an ``Authorization`` header): providers see provider-only articles, only staff
see internal ones. Article HTML was sanitized when it was saved; the Content-Security-Policy
allows no inline script either way.
"""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError

from hub import keys
from hub.auth import Principal
from hub.errors import HubError, Unauthorized
from hub.models import Channel, InboundMessage
from hub.models.inbound import SenderIdentity

from ..models import Article, ArticleStatus, visibilities_for
from ..search import SearchHit, SearchQuery, SearchUnavailable
from .i18n import LANGUAGES, category_name, strings

log = logging.getLogger(__name__)
HOME_ARTICLES = 12
HERE = Path(__file__).parent
COOKIE, VISITOR = "berry_help", "berry_visitor"
VOTED = "berry_voted"  # scoped to the article's path, holds its id: this browser voted on it
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
MAX_Q = 500
VISITOR_ID: web.RequestKey[str] = web.RequestKey("help_visitor")
SIGNED_IN: web.RequestKey[Principal | None] = web.RequestKey("help_signed_in")

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(LANGUAGES=LANGUAGES, category_name=category_name)
# typed text in plain text (the page's <title>) between FSI and PDI: a bidi control in it (U+202E)
# stays inside it; in the page itself the element around it (class "typed") isolates it (help.css)
env.filters["isolate"] = lambda text: f"\u2068{text}\u2069"


class ContactForm(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    subject: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=5, max_length=10_000)
    nonce: str = Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    article: str = Field("", max_length=80)


def kb_of(request: web.Request) -> Any:
    return request.app[keys.EXTENSIONS]["knowledge_base"]


@web.middleware
async def signed_in(request: web.Request, handler: Any) -> web.StreamResponse:
    """The help center's cookie sign-in, checked once per request like a bearer token: a session
    revoked from the user's session list (or signed out here) is signed out at its next request,
    not trusted until its token expires."""
    token = request.cookies.get(COOKIE)
    if token and request.path.startswith("/help"):
        tokens = request.app[keys.TOKENS]
        try:
            request[SIGNED_IN] = await tokens.check_live(tokens.verify_access(token))
        except Unauthorized:
            request[SIGNED_IN] = None
    return await handler(request)


NOT_PAGES = ("/help/static/", "/help/media/", "/help/search.json", "/help/escalations")
PATH_LOCALE = re.compile(r"^/help/([a-z]{2})(?:/|$)")


@web.middleware
async def not_found_page(request: web.Request, handler: Any) -> web.StreamResponse:
    """Any 404 under /help (unknown language, topic, article, someone else's ticket, a mistyped
    address) is one help-center page, in the page's language when the address names a known one.
    The page never says which of these it was, so another customer's ticket looks like none."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if not request.path.startswith("/help") or request.path.startswith(NOT_PAGES):
            raise
        match = PATH_LOCALE.match(request.path)
        locale = match.group(1) if match and match.group(1) in LANGUAGES else "en"
        return render(request, "notfound.html", status=404, locale=locale)


def principal_of(request: web.Request) -> Principal | None:
    if request.get(keys.PRINCIPAL) is not None:
        return request[keys.PRINCIPAL]
    return request.get(SIGNED_IN)


def visitor_of(request: web.Request) -> str:
    visitor = request.cookies.get(VISITOR, "")
    if not (16 <= len(visitor) <= 64 and visitor.replace("-", "").replace("_", "").isalnum()):
        visitor = secrets.token_urlsafe(16)
    request[VISITOR_ID] = visitor
    return visitor


def _searcher(request: web.Request) -> dict[str, str | None]:
    """Who searched, for the analytics: the browser, and the customer if signed in."""
    principal = principal_of(request)
    return {"visitor": visitor_of(request), "contact_id": principal.contact_id if principal else None}


def locale_of(request: web.Request) -> str:
    locale = request.match_info.get("locale", "en")
    if locale not in LANGUAGES:
        raise web.HTTPNotFound(text="unknown language")
    return locale


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    locale = context.setdefault(
        "locale",
        request.match_info.get("locale", "en") if request.match_info.get("locale") in LANGUAGES else "en",
    )
    principal = principal_of(request)
    context.setdefault("switch", {code: f"/help/{code}" for code in LANGUAGES})
    context.setdefault("q", "")
    context.setdefault("chat_widget", "channels" in request.app[keys.EXTENSIONS])  # the web chat is installed
    html = env.get_template(template).render(t=strings(locale), principal=principal, **context)
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if VISITOR_ID in request and request.cookies.get(VISITOR) != request[VISITOR_ID]:
        response.set_cookie(
            VISITOR, request[VISITOR_ID], max_age=365 * 86400, httponly=True, samesite="Lax", path="/help"
        )
    return response


def _visible(request: web.Request) -> list[str]:
    """The article visibilities this reader may see (signed out: public only)."""
    principal = principal_of(request)
    return visibilities_for(principal.role if principal else None)


def _query(request: web.Request, text: str, locale: str, **kw: Any) -> SearchQuery:
    return SearchQuery(text=text[:MAX_Q], locale=locale, visibilities=_visible(request), **kw)


async def _categories(request: web.Request, locale: str) -> dict[str, int]:
    return await kb_of(request).articles.categories(locale=locale, visibilities=_visible(request))


async def index(request: web.Request) -> web.Response:
    wanted = request.cookies.get("berry_locale") or request.headers.get("Accept-Language", "en")[:2].lower()
    raise web.HTTPFound(f"/help/{wanted if wanted in LANGUAGES else 'en'}")


async def home(request: web.Request) -> web.Response:
    """Topics, then the articles most read over the last 30 days (those this reader may see, in this
    language); the first of every topic fill the list while few have been read."""
    locale = locale_of(request)
    kb = kb_of(request)
    visible = _visible(request)
    try:
        popular = await kb.articles.published_among(await kb.analytics.popular(), locale=locale,
                                                     visibilities=visible)
    except Exception:  # analytics must never cost the reader the page
        log.exception("popular articles unavailable")
        popular = []
    popular = popular[:HOME_ARTICLES]
    seen = {a.id for a in popular}
    rest = await kb.articles.list(locale=locale, status=ArticleStatus.published,
                                  limit=HOME_ARTICLES + len(seen), visibilities=visible)
    articles = popular + [a for a in rest if a.id not in seen][:HOME_ARTICLES - len(popular)]
    return render(request, "home.html", locale=locale, categories=await _categories(request, locale),
                  articles=articles, ranked_by_readers=bool(popular))


async def category(request: web.Request) -> web.Response:
    locale = locale_of(request)
    slug = request.match_info["category"]
    published = ArticleStatus.published
    articles = await kb_of(request).articles.list(locale=locale, category=slug, status=published,
                                                  visibilities=_visible(request), limit=200)
    if not articles:
        raise web.HTTPNotFound(text="no such topic")
    return render(
        request,
        "category.html",
        locale=locale,
        category=slug,
        articles=articles,
        switch=await _category_switch(request, locale, slug),
    )


async def _category_switch(request: web.Request, locale: str, slug: str) -> dict[str, str]:
    """The language menu of a topic: the topic in each language that has it for this reader, that
    language's home page otherwise (an Afrikaans-only topic has no English page to link to)."""
    switch, visible = {}, _visible(request)
    for code in LANGUAGES:  # the page's own query (category() answers 404 when it finds none)
        has_topic = code == locale or bool(await kb_of(request).articles.list(
            locale=code, category=slug, status=ArticleStatus.published, visibilities=visible, limit=1))
        switch[code] = f"/help/{code}/categories/{slug}" if has_topic else f"/help/{code}"
    return switch


async def search_page(request: web.Request) -> web.Response:
    locale = locale_of(request)
    q = request.query.get("q", "")[:MAX_Q]
    hits: list[SearchHit] = []
    down = False
    if q.strip():
        try:
            hits = await kb_of(request).search(
                _query(request, q, locale), source="help_center", fallback=True, **_searcher(request)
            )
        except SearchUnavailable:
            down = True
    return render(
        request,
        "search.html",
        locale=locale,
        q=q,
        hits=hits,
        down=down,
        categories=await _categories(request, locale),
        switch={code: f"/help/{code}/search" for code in LANGUAGES},
    )


async def search_json(request: web.Request) -> web.Response:
    locale = request.query.get("locale", "en")
    if locale not in LANGUAGES:
        locale = "en"
    q = request.query.get("q", "")[:MAX_Q]
    try:
        hits = (
            await kb_of(request).search(
                _query(request, q, locale, limit=8), source="instant", fallback=True, **_searcher(request)
            )
            if q.strip()
            else []
        )
    except SearchUnavailable:
        return web.json_response({"query": q, "hits": [], "unavailable": True}, status=503)
    note = strings(locale)["in_default_language"]  # a hit in English on an Afrikaans page says so
    return web.json_response({"query": q, "hits": [
        {**h.model_dump(include={"title", "summary", "url", "locale"}),
         "note": note if h.locale != locale else ""} for h in hits]})


async def _readable_article(request: web.Request, locale: str) -> Article:
    article = await kb_of(request).articles.by_slug(locale, request.match_info["slug"])
    if (
        article is None
        or article.status != ArticleStatus.published
        or article.visibility.value not in _visible(request)
    ):
        raise web.HTTPNotFound(text="no such article")
    return article


async def article_page(request: web.Request) -> web.Response:
    locale = locale_of(request)
    article = await _readable_article(request, locale)
    kb = kb_of(request)
    await kb.analytics.record_view(article.id, visitor=visitor_of(request))
    switch = {code: f"/help/{code}" for code in LANGUAGES}
    translations = []
    for code, other_id in (await kb.articles.translations(article)).items():
        if code != locale:
            try:
                other = await kb.articles.get(other_id)
            except HubError:
                continue
            if other.status == ArticleStatus.published and other.visibility.value in _visible(request):
                switch[code] = other.url  # a translation this reader may open, else that language's home
                translations.append(other)
    related: list[SearchHit] = []
    try:
        hits = await kb.backend.search(
            _query(request, f"{article.title} {' '.join(article.tags)}", locale, limit=5)
        )
        related = [h for h in hits if h.id != article.id][:4]
    except SearchUnavailable:
        pass
    return render(
        request,
        "article.html",
        locale=locale,
        article=article,
        related=related,
        translations=translations,
        switch=switch,
        voted=bool(request.query.get("voted")) or request.cookies.get(VOTED) == article.id,
    )


async def feedback(request: web.Request) -> web.Response:
    locale = locale_of(request)
    article = await _readable_article(request, locale)
    form = await request.post()
    helpful = form.get("helpful")
    if helpful not in ("yes", "no"):
        raise web.HTTPUnprocessableEntity(text="helpful must be yes or no")
    principal = principal_of(request)
    voter = principal.actor_id if principal else visitor_of(request)
    # one vote per browser and article: the first stands (the page shows no buttons after it), so
    # a replay, a second tab or signing in between does not count the browser twice
    if request.cookies.get(VOTED) != article.id:
        await kb_of(request).analytics.record_feedback(article.id, voter, helpful == "yes")
    response: web.Response
    if request.headers.get("Accept", "").startswith("application/json"):
        response = web.json_response({"ok": True})
    else:
        response = web.HTTPSeeOther(f"{article.url}?voted=1#feedback")
    response.set_cookie(
        VOTED, article.id, max_age=365 * 86400, httponly=True, samesite="Lax", path=article.url
    )
    if VISITOR_ID in request and request.cookies.get(VISITOR) != request[VISITOR_ID]:
        response.set_cookie(
            VISITOR, request[VISITOR_ID], max_age=365 * 86400, httponly=True, samesite="Lax", path="/help"
        )
    if isinstance(response, web.HTTPException):
        raise response
    return response


async def contact_form(request: web.Request) -> web.Response:
    locale = locale_of(request)
    return render(
        request,
        "contact.html",
        locale=locale,
        errors={},
        values={"article": request.query.get("article", "")[:80]},
        nonce=secrets.token_urlsafe(18),
        switch={code: f"/help/{code}/contact" for code in LANGUAGES},
    )


async def contact_submit(request: web.Request) -> web.Response:
    locale = locale_of(request)
    form = await request.post()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    if values.get("website"):  # honeypot: people do not see this field, bots fill it
        return render(request, "thanks.html", locale=locale, number=None)
    try:
        data = ContactForm.model_validate(values)
    except ValidationError as exc:
        errors = contact_errors(exc, locale)
        if "nonce" in errors:  # tampered or truncated: a fresh one, the message is kept
            values["nonce"] = secrets.token_urlsafe(18)
        return render(
            request,
            "contact.html",
            status=422,
            locale=locale,
            errors=errors,
            values=values,
            nonce=values.get("nonce") or secrets.token_urlsafe(18),
        )
    text = data.message + (f"\n\n(from help article: {data.article})" if data.article else "")
    inbound = InboundMessage(
        channel=Channel.api,
        external_id=f"helpcenter:{data.nonce}",
        # Its own ticket: threaded on the typed (unverified) address, a second form joined that
        # address's open ticket, and the thanks page named that ticket's number to whoever typed it.
        thread_key=f"helpcenter:{data.nonce}",
        sender=SenderIdentity(kind="email", value=str(data.email)),
        sender_name=data.name,
        subject=data.subject,
        text=text,
        language=locale,
        meta={"source": "help_center", "article": data.article or None},
    )
    result = await request.app[keys.INBOX].ingest(inbound)  # a resubmitted form (same nonce) is one ticket
    await kb_of(request).analytics.record_escalation(visitor_of(request), "contact", result.conversation.id)
    return render(request, "thanks.html", locale=locale, number=result.conversation.number)


def contact_errors(exc: ValidationError, locale: str) -> dict[str, str]:
    """Field → a short message in the page's language (pydantic's own wording is for developers)."""
    t = strings(locale)
    errors: dict[str, str] = {}
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        if field in errors:
            continue
        if field in ("name", "subject", "message"):
            errors[field] = t[f"err_{field}_long" if e["type"] == "string_too_long" else f"err_{field}"]
        elif field == "email":
            errors[field] = t["err_email"]
        elif field:
            errors[field] = t["err_form"]
    return errors


async def escalation(request: web.Request) -> web.Response:
    """help.js reports that the visitor opened the chat from the help center (deflection analytics)."""
    if request.cookies.get(VISITOR) is None:
        return web.Response(status=204)  # no help-center session to judge
    await kb_of(request).analytics.record_escalation(visitor_of(request), "chat")
    return web.Response(status=204)


def install(app: web.Application) -> None:
    r = app.router
    r.add_get("/help", index)
    r.add_get("/help/", index)
    r.add_get("/help/search.json", search_json)
    r.add_post("/help/escalations", escalation)
    r.add_static("/help/static", HERE / "static", append_version=True)
    r.add_get("/help/{locale:[a-z]{2}}", home)
    r.add_get("/help/{locale:[a-z]{2}}/search", search_page)
    r.add_get("/help/{locale:[a-z]{2}}/categories/{category}", category)
    r.add_get("/help/{locale:[a-z]{2}}/articles/{slug}", article_page)
    r.add_post("/help/{locale:[a-z]{2}}/articles/{slug}/feedback", feedback)
    r.add_get("/help/{locale:[a-z]{2}}/contact", contact_form)
    r.add_post("/help/{locale:[a-z]{2}}/contact", contact_submit)
