"""The ``Articles`` service: create, edit, publish, translate and delete help articles.

Every write stores a version in ``article_versions`` (``_id`` = "<article>:<version>", so two
concurrent edits of one version cannot both win — the loser gets 409), then publishes an event.
"""

from __future__ import annotations

import builtins
import logging
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from hub.errors import Conflict, InvalidInput, NotFound
from hub.events import EventBus
from hub.models import new_id, utcnow
from hub.store import Store, ix, register

from .events import ArticleCreated, ArticleDeleted, ArticleUpdated
from .markdown import render
from .media import IMAGE_TYPES, VIDEO_TYPES, referenced
from .models import (
    Article,
    ArticleFile,
    ArticleIn,
    ArticleKind,
    ArticlePatch,
    ArticleStatus,
    ArticleVersion,
    slugify,
)

log = logging.getLogger(__name__)

register(
    "articles",
    ix(("locale", 1), ("slug", 1)),
    ix(("group_id", 1)),
    ix(("category", 1), ("status", 1)),
    ix(("updated_at", -1)),
)
register("article_versions", ix(("article_id", 1), ("version", -1)))  # _id = "<article>:<version>"
register("article_slots")  # _id = "slug:<locale>:<slug>" or "group:<group>:<locale>": one article each


def article_filter(
    *,
    locale: str | None = None,
    category: str | None = None,
    status: ArticleStatus | None = None,
    visibilities: list[str] | None = None,
) -> dict[str, Any]:
    """The store filter of an article list (the help center's pages and the API's paged list)."""
    flt: dict[str, Any] = {}
    if locale:
        flt["locale"] = locale
    if category:
        flt["category"] = category
    if status:
        flt["status"] = status.value
    if visibilities is not None:
        flt["visibility"] = {"$in": visibilities}
    return flt


class Articles:
    def __init__(self, store: Store, bus: EventBus) -> None:
        self.store = store
        self.bus = bus
        self.col = store["articles"]

    # --- reads ----------------------------------------------------------------------------------

    async def get(self, article_id: str) -> Article:
        doc = await self.col.find_one({"_id": article_id})
        if doc is None:
            raise NotFound(f"no article {article_id}")
        return Article.from_doc(doc)

    async def by_slug(self, locale: str, slug: str) -> Article | None:
        doc = await self.col.find_one({"locale": locale, "slug": slug})
        return Article.from_doc(doc) if doc else None

    async def list(
        self,
        *,
        locale: str | None = None,
        category: str | None = None,
        status: ArticleStatus | None = None,
        visibilities: list[str] | None = None,
        limit: int = 100,
        skip: int = 0,
    ) -> list[Article]:
        flt = article_filter(locale=locale, category=category, status=status, visibilities=visibilities)
        cursor = self.col.find(flt).sort([("category", 1), ("title", 1)]).skip(skip).limit(limit)
        return [Article.from_doc(d) async for d in cursor]

    async def published_among(self, ids: builtins.list[str], *, locale: str,
                              visibilities: builtins.list[str]) -> builtins.list[Article]:
        """The published articles of ``locale`` a reader may see among ``ids``, in the order of ``ids``."""
        flt = article_filter(locale=locale, status=ArticleStatus.published, visibilities=visibilities)
        found = {d["_id"]: Article.from_doc(d) async for d in self.col.find({**flt, "_id": {"$in": ids}})}
        return [found[i] for i in ids if i in found]

    async def translations(self, article: Article) -> dict[str, str]:
        """locale → article id of every article in the same group (itself included)."""
        return {
            d["locale"]: d["_id"]
            async for d in self.col.find({"group_id": article.group_id}, {"locale": 1}).limit(50)
        }

    async def categories(self, *, locale: str, visibilities: builtins.list[str]) -> dict[str, int]:
        """category → number of published articles (bounded query, counted in Python)."""
        counts: dict[str, int] = {}
        async for d in self.col.find(
            {"locale": locale, "status": "published", "visibility": {"$in": visibilities}}, {"category": 1}
        ).limit(20_000):
            counts[d["category"]] = counts.get(d["category"], 0) + 1
        return dict(sorted(counts.items()))

    # --- writes ---------------------------------------------------------------------------------

    async def create(self, data: ArticleIn, author_id: str | None) -> Article:
        article_id = new_id()
        group_id = article_id
        if data.translation_of:
            original = await self.get(data.translation_of)
            group_id = original.group_id
        slug = data.slug or slugify(data.title)
        article = Article(
            id=article_id,
            group_id=group_id,
            locale=data.locale,
            slug=slug,
            title=data.title,
            summary=data.summary,
            body_md=data.body,
            body_html=render(data.body),
            category=data.category,
            tags=data.tags,
            visibility=data.visibility,
            status=data.status,
            kind=data.kind,
            faq=data.faq,
            video=data.video,
            attachments=data.attachments,
            author_id=author_id,
            published_at=utcnow() if data.status == ArticleStatus.published else None,
        )
        article = await self._with_media(article)
        slots = [f"slug:{article.locale}:{slug}", f"group:{group_id}:{article.locale}"]
        claimed: list[str] = []
        for slot in slots:
            if not await self.store.claim("article_slots", slot, {"article_id": article_id}):
                await self.store["article_slots"].delete_many({"_id": {"$in": claimed}})
                what = "slug" if slot.startswith("slug:") else "translation"
                raise Conflict(
                    f"an article with this {what} already exists in {article.locale}",
                    field="slug" if what == "slug" else "locale",
                )
            claimed.append(slot)
        await self._save_version(article)
        await self.col.insert_one(article.to_doc())
        await self.bus.publish(ArticleCreated(article=article))
        return article

    async def update(self, article_id: str, patch: ArticlePatch, actor_id: str | None) -> Article:
        current = await self.get(article_id)
        if patch.base_version is not None and patch.base_version != current.version:
            raise Conflict(
                f"article is at version {current.version}, not {patch.base_version}", field="base_version"
            )
        changes = patch.model_dump(exclude_unset=True, exclude={"base_version"})
        if not changes:
            raise InvalidInput("nothing to change", field="body")
        fields = dict(changes)
        if "body" in fields:
            body = fields.pop("body")
            fields["body_md"] = body
            fields["body_html"] = render(body)
        now = utcnow()
        if fields.get("status") == ArticleStatus.published and current.published_at is None:
            fields["published_at"] = now
        updated = Article.model_validate(
            {
                **current.model_dump(),
                **fields,
                "version": current.version + 1,
                "updated_at": now,
                "author_id": actor_id or current.author_id,
            }
        )
        updated = await self._with_media(updated)
        await self._save_version(updated)  # the version claim is the one-winner decision
        doc = updated.to_doc()
        doc.pop("_id")
        result = await self.col.update_one({"_id": article_id, "version": current.version}, {"$set": doc})
        if result.matched_count != 1:
            raise Conflict("the article changed meanwhile; reload and retry")
        await self.bus.publish(ArticleUpdated(article=updated, changes=changes, actor_id=actor_id))
        return updated

    async def delete(self, article_id: str, actor_id: str | None) -> None:
        article = await self.get(article_id)
        await self.col.delete_one({"_id": article_id})
        await self.store["article_slots"].delete_many(
            {
                "_id": {
                    "$in": [
                        f"slug:{article.locale}:{article.slug}",
                        f"group:{article.group_id}:{article.locale}",
                    ]
                }
            }
        )
        await self.bus.publish(ArticleDeleted(article_id=article_id, actor_id=actor_id))

    async def _with_media(self, article: Article) -> Article:
        """Render FAQ answers, check the kind's content and every referenced upload, and record
        the blobs the article shows (``media_ids``: what /help/media serves to its readers)."""
        if article.kind == ArticleKind.faq and not article.faq:
            raise InvalidInput("an FAQ article needs at least one question", field="faq")
        if article.kind == ArticleKind.video and article.video is None:
            raise InvalidInput("a video tutorial needs a video", field="video")
        faq = [item.model_copy(update={"answer_html": render(item.answer)}) for item in article.faq]
        files = self.store["kb_media.files"]

        async def upload(blob_id: str, field: str) -> dict[str, Any]:
            doc = await files.find_one({"_id": ObjectId(blob_id)})
            if doc is None:
                raise InvalidInput(f"no uploaded media {blob_id}", field=field)
            return doc

        attachments = []
        for item in article.attachments:
            doc = await upload(item.blob_id, "attachments")
            attachments.append(
                ArticleFile(
                    blob_id=item.blob_id,
                    filename=item.filename or doc["filename"],
                    content_type=doc["metadata"]["content_type"],
                    size=doc["length"],
                )
            )
        if article.video is not None:
            if (await upload(article.video.blob_id, "video"))["metadata"]["content_type"] not in VIDEO_TYPES:
                raise InvalidInput("the video must be video/mp4 or video/webm", field="video.blob_id")
            captions = article.video.captions_blob_id
            if captions and (await upload(captions, "video"))["metadata"]["content_type"] != "text/vtt":
                raise InvalidInput("captions must be text/vtt (WebVTT)", field="video.captions_blob_id")
        ids = referenced(article.body_md, *(item.answer for item in faq))
        for blob_id in ids:
            if (await upload(blob_id, "body"))["metadata"]["content_type"] not in IMAGE_TYPES:
                raise InvalidInput(
                    f"media {blob_id} in the text is not an image; attach it instead", field="body"
                )
        ids += [a.blob_id for a in attachments]
        if article.video is not None:
            ids += [i for i in (article.video.blob_id, article.video.captions_blob_id) if i]
        return article.model_copy(
            update={"faq": faq, "attachments": attachments, "media_ids": list(dict.fromkeys(ids))}
        )

    async def _save_version(self, article: Article) -> None:
        version = ArticleVersion(
            article_id=article.id,
            version=article.version,
            title=article.title,
            summary=article.summary,
            body=article.body_md,
            status=article.status,
            visibility=article.visibility,
            author_id=article.author_id,
        )
        try:
            await self.store["article_versions"].insert_one(
                {"_id": f"{article.id}:{article.version}", **version.model_dump(mode="python")}
            )
        except DuplicateKeyError as exc:
            raise Conflict("the article changed meanwhile; reload and retry") from exc
