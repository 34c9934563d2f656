"""REST API for articles, categories, search, feedback and the index (mounted under /api/v1).

Reading is public and narrowed by role: anonymous callers and customers see public articles,
providers also provider-only ones, staff everything; only ``articles:write`` sees drafts.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub import keys
from hub.api import pages
from hub.api.pages import PageQuery, Sorts, page_of, query_model
from hub.api.routing import ApiRouter, read_limited
from hub.auth import Principal
from hub.errors import HubError, InvalidInput, NotFound

from .analytics import Report, SourceFilter
from .articles import article_filter
from .media import MEDIA_TYPES, limit_for, media_store
from .models import (
    LOCALES,
    Article,
    ArticleIn,
    ArticleOut,
    ArticlePatch,
    ArticleStatus,
    ArticleVersion,
    visibilities_for,
)
from .search import SearchHit, SearchQuery
from .service import KnowledgeBase
from .sync import check_drift, reindex


class UnsupportedMedia(HubError):
    status = 415
    title = "Unsupported media type"


router = ApiRouter()
route = router.route
MAX_QUERY = 1000


def kb_of(request: web.Request) -> KnowledgeBase:
    return request.app[keys.EXTENSIONS]["knowledge_base"]


def _role(principal: Principal | None) -> Any:
    return principal.role if principal else None


def _writer(principal: Principal | None) -> bool:
    return principal is not None and principal.can("articles:write")


def _readable(article: Article, principal: Principal | None) -> bool:
    if article.visibility.value not in visibilities_for(_role(principal)):
        return False
    return article.status == ArticleStatus.published or _writer(principal)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


ARTICLE_SORTS = Sorts({"id": "_id", "title": "title", "category": "category", "created_at": "created_at",
                       "updated_at": "updated_at"}, "title")
VERSION_SORTS = Sorts({"version": "version", "at": "at"}, "-version")
VersionQuery = query_model("ArticleVersionQuery", VERSION_SORTS)


class ArticleQuery(PageQuery):
    locale: str | None = Field(None, pattern=f"^({'|'.join(LOCALES)})$")
    category: str | None = Field(None, max_length=80)
    status: ArticleStatus | None = None
    sort: str | None = Field(None, max_length=64, description=ARTICLE_SORTS.describe())


class SearchParams(_Strict):
    q: str = Field(max_length=MAX_QUERY)
    locale: str | None = Field(
        None, pattern=f"^({'|'.join(LOCALES)})$",
        description="Other than en: hits in this language first, then the answers with no translation "
        "in it, in English (each hit's locale says which); none: every language",
    )
    category: str | None = Field(None, max_length=80)
    limit: int = Field(10, ge=1, le=50)


class SearchOut(BaseModel):
    query: str
    hits: list[SearchHit]


class CategoriesQuery(_Strict):
    locale: str = Field("en", pattern=f"^({'|'.join(LOCALES)})$")


class FeedbackIn(_Strict):
    helpful: bool
    comment: str = Field("", max_length=2000)
    visitor: str | None = Field(
        None,
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Anonymous visitor id (signed-in callers are identified by their token)",
    )


class AnalyticsQuery(_Strict):
    days: int = Field(30, ge=1, le=365)
    source: SourceFilter = Field(
        "help_center",
        description="Whose searches: help_center (its search page and search as you type), bot, api, or all",
    )


@route(
    "GET",
    "/articles",
    summary="List articles",
    tag="knowledge base",
    query=ArticleQuery,
    response=page_of(ArticleOut, "ArticlePage"),
    public=True,
)
async def list_articles(
    request: web.Request, principal: Principal | None, query: ArticleQuery
) -> dict[str, Any]:
    status = query.status if _writer(principal) else ArticleStatus.published
    flt = article_filter(locale=query.locale, category=query.category, status=status,
                         visibilities=visibilities_for(_role(principal)))
    return await pages.page(kb_of(request).articles.col, flt, query, ARTICLE_SORTS,
                            lambda d: ArticleOut.of(Article.from_doc(d)))


@route(
    "POST",
    "/articles",
    summary="Create an article (or a translation)",
    tag="knowledge base",
    permission="articles:write",
    body=ArticleIn,
    response=ArticleOut,
    status=201,
)
async def create_article(request: web.Request, principal: Principal, body: ArticleIn) -> ArticleOut:
    article = await kb_of(request).articles.create(body, principal.actor_id)
    return ArticleOut.of(article, {article.locale: article.id})


class MediaOut(BaseModel):
    blob_id: str
    url: str
    filename: str
    content_type: str
    size: int


@route(
    "POST",
    "/kb/media",
    summary="Upload an image, attachment, video or WebVTT captions for articles (raw body; X-Filename)",
    tag="knowledge base",
    permission="articles:write",
    response=MediaOut,
    status=201,
)
async def upload_media(request: web.Request, principal: Principal) -> MediaOut:
    content_type = request.content_type
    if content_type not in MEDIA_TYPES:
        raise UnsupportedMedia(
            f"{content_type or 'no Content-Type'}: one of {', '.join(sorted(MEDIA_TYPES))}"
        )
    limit = limit_for(content_type)
    data = await read_limited(request, limit, f"{content_type} uploads are limited to {limit // 1048576} MB")
    if not data:
        raise InvalidInput("empty upload", field="body")
    filename = re.sub(r"[\x00-\x1f/\\]", "_", request.headers.get("X-Filename", "upload"))[:200] or "upload"
    blob_id = await media_store(kb_of(request).store).put(
        data, filename=filename, content_type=content_type, meta={"uploaded_by": principal.actor_id}
    )
    return MediaOut(
        blob_id=blob_id,
        url=f"/help/media/{blob_id}",
        filename=filename,
        content_type=content_type,
        size=len(data),
    )


async def _get_readable(request: web.Request, principal: Principal | None) -> Article:
    article = await kb_of(request).articles.get(request.match_info["article_id"])
    if not _readable(article, principal):
        raise NotFound(f"no article {article.id}")  # hidden articles do not exist for this caller
    return article


@route(
    "GET",
    "/articles/{article_id}",
    summary="Get an article with its translations",
    tag="knowledge base",
    response=ArticleOut,
    public=True,
)
async def get_article(request: web.Request, principal: Principal | None) -> ArticleOut:
    article = await _get_readable(request, principal)
    return ArticleOut.of(article, await kb_of(request).articles.translations(article))


@route(
    "PATCH",
    "/articles/{article_id}",
    summary="Edit, publish or archive an article (new version)",
    tag="knowledge base",
    permission="articles:write",
    body=ArticlePatch,
    response=ArticleOut,
)
async def update_article(request: web.Request, principal: Principal, body: ArticlePatch) -> ArticleOut:
    article = await kb_of(request).articles.update(request.match_info["article_id"], body, principal.actor_id)
    return ArticleOut.of(article)


@route(
    "DELETE",
    "/articles/{article_id}",
    summary="Delete an article",
    tag="knowledge base",
    permission="articles:write",
)
async def delete_article(request: web.Request, principal: Principal) -> None:
    await kb_of(request).articles.delete(request.match_info["article_id"], principal.actor_id)


@route(
    "GET",
    "/articles/{article_id}/versions",
    summary="Version history of an article",
    tag="knowledge base",
    permission="articles:write",
    query=VersionQuery,
    response=page_of(ArticleVersion),
)
async def article_versions(request: web.Request, _: Principal, query: PageQuery) -> dict[str, Any]:
    article = await kb_of(request).articles.get(request.match_info["article_id"])
    return await pages.page(kb_of(request).store["article_versions"], {"article_id": article.id}, query,
                            VERSION_SORTS, ArticleVersion.model_validate)


@route(
    "POST",
    "/articles/{article_id}/feedback",
    summary='"Was this helpful?" vote',
    tag="knowledge base",
    body=FeedbackIn,
    status=204,
    public=True,
)
async def article_feedback(request: web.Request, principal: Principal | None, body: FeedbackIn) -> None:
    article = await _get_readable(request, principal)
    visitor = principal.actor_id if principal else body.visitor
    if not visitor:
        raise InvalidInput("anonymous feedback needs a visitor id", field="visitor")
    await kb_of(request).analytics.record_feedback(article.id, visitor, body.helpful, body.comment)


@route(
    "GET",
    "/kb/categories",
    summary="Categories with their number of published articles",
    tag="knowledge base",
    query=CategoriesQuery,
    response=dict[str, int],
    public=True,
)
async def categories(
    request: web.Request, principal: Principal | None, query: CategoriesQuery
) -> dict[str, int]:
    return await kb_of(request).articles.categories(
        locale=query.locale, visibilities=visibilities_for(_role(principal))
    )


@route(
    "GET",
    "/kb/search",
    summary="Search published articles (hybrid: keywords + meaning)",
    tag="knowledge base",
    query=SearchParams,
    response=SearchOut,
    public=True,
)
async def search(request: web.Request, principal: Principal | None, query: SearchParams) -> SearchOut:
    hits = await kb_of(request).search(
        SearchQuery(
            text=query.q,
            locale=query.locale,
            category=query.category,
            limit=query.limit,
            visibilities=visibilities_for(_role(principal)),
        ),
        source="api",
        visitor=principal.actor_id if principal else None,
        contact_id=principal.contact_id if principal else None,
        fallback=True,
    )
    return SearchOut(query=query.q, hits=hits)


@route(
    "GET",
    "/kb/analytics",
    summary="Top searches, searches without results, views and helpfulness",
    tag="knowledge base",
    permission="reports:read",
    query=AnalyticsQuery,
    response=Report,
)
async def analytics(request: web.Request, _: Principal, query: AnalyticsQuery) -> Report:
    return await kb_of(request).analytics.report(days=query.days, source=query.source)


@route(
    "POST",
    "/kb/reindex",
    summary="Rebuild the search index from MongoDB",
    tag="knowledge base",
    permission="articles:write",
    response=dict[str, int],
)
async def reindex_all(request: web.Request, _: Principal) -> dict[str, int]:
    kb = kb_of(request)
    return {"documents": await reindex(kb.store, kb.backend)}


@route(
    "GET",
    "/kb/drift",
    summary="Compare the search index with MongoDB (never writes)",
    tag="knowledge base",
    permission="articles:write",
    response=dict[str, Any],
)
async def drift(request: web.Request, _: Principal) -> dict[str, Any]:
    kb = kb_of(request)
    return (await check_drift(kb.store, kb.backend)).as_dict()
