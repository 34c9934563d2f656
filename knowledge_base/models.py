"""Article models: what is stored in ``articles`` / ``article_versions``, and the API's input shapes.

A translation is its own article with the same ``group_id`` (the id of the original) and another
``locale``; the pair (group_id, locale) is unique, claimed on ``_id`` of ``article_slots``.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.models import Model, Role, new_id, utcnow

LOCALES = ("en", "af", "zu", "xh", "st")  # the languages the help center is offered in
DEFAULT_LOCALE = "en"  # a search in another language falls back to it
MAX_BODY = 200_000
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class Visibility(StrEnum):
    public = "public"
    providers = "providers"
    internal = "internal"


class ArticleStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class ArticleKind(StrEnum):
    article = "article"
    faq = "faq"  # questions and answers, rendered as an FAQ (``faq``)
    video = "video"  # a tutorial: an embedded player and its transcript (``video``)


class FaqItem(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    question: str = Field(min_length=3, max_length=500)
    answer: str = Field(min_length=1, max_length=20_000, description="Markdown")
    answer_html: str = Field("", description="Rendered and sanitized on save (ignored on input)")


class Video(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    blob_id: str = Field(pattern=r"^[0-9a-f]{24}$", description="An uploaded video/mp4 or video/webm")
    captions_blob_id: str | None = Field(None, pattern=r"^[0-9a-f]{24}$", description="An uploaded text/vtt")
    transcript: str = Field("", max_length=100_000, description="Plain text; shown and searched")


class ArticleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    blob_id: str = Field(pattern=r"^[0-9a-f]{24}$")
    filename: str = Field("", max_length=200, description="Filled from the upload when empty")
    content_type: str = ""
    size: int = 0

    @property
    def url(self) -> str:
        return f"/help/media/{self.blob_id}"


def visibilities_for(role: Role | None) -> list[str]:
    """Who sees what: everyone public, providers their own articles too, only staff internal ones."""
    if role in (Role.admin, Role.supervisor, Role.agent):
        return [v.value for v in Visibility]
    if role == Role.provider:
        return [Visibility.public.value, Visibility.providers.value]
    return [Visibility.public.value]


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:80].strip("-") or "article"


def _check_locale(value: str) -> str:
    if value not in LOCALES:
        raise ValueError(f"unknown locale {value!r}; one of {', '.join(LOCALES)}")
    return value


class Article(Model):
    id: str = Field(default_factory=new_id)
    group_id: str = ""  # id of the original; translations share it
    locale: str = "en"
    slug: str
    title: str
    summary: str = ""
    body_md: str = ""
    body_html: str = ""
    category: str = "general"
    tags: list[str] = Field(default_factory=list)
    visibility: Visibility = Visibility.public
    status: ArticleStatus = ArticleStatus.draft
    kind: ArticleKind = ArticleKind.article
    faq: list[FaqItem] = Field(default_factory=list)
    video: Video | None = None
    attachments: list[ArticleFile] = Field(default_factory=list)
    media_ids: list[str] = Field(default_factory=list)  # every blob this article shows (media access)
    author_id: str | None = None
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    published_at: datetime | None = None

    @property
    def url(self) -> str:
        return f"/help/{self.locale}/articles/{self.slug}"


class _ArticleFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=300)
    summary: str = Field("", max_length=1000)
    body: str = Field("", max_length=MAX_BODY, description="Markdown; rendered to sanitized HTML")
    category: str = Field("general", min_length=1, max_length=80, pattern=r"^[a-z0-9-]+$")
    tags: list[str] = Field(default_factory=list, max_length=30)
    visibility: Visibility = Visibility.public
    status: ArticleStatus = ArticleStatus.draft
    kind: ArticleKind = ArticleKind.article
    faq: list[FaqItem] = Field(default_factory=list, max_length=200)
    video: Video | None = None
    attachments: list[ArticleFile] = Field(default_factory=list, max_length=50)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        out = []
        for tag in tags:
            tag = tag.strip().lower()
            if not tag or len(tag) > 50:
                raise ValueError("a tag has 1 to 50 characters")
            if tag not in out:
                out.append(tag)
        return out


class ArticleIn(_ArticleFields):
    locale: str = "en"
    slug: str | None = Field(None, max_length=80, pattern=SLUG_RE.pattern)
    translation_of: str | None = Field(None, description="Article id this one translates")

    _locale = field_validator("locale")(_check_locale)


class ArticlePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(None, min_length=1, max_length=300)
    summary: str | None = Field(None, max_length=1000)
    body: str | None = Field(None, max_length=MAX_BODY)
    category: str | None = Field(None, min_length=1, max_length=80, pattern=r"^[a-z0-9-]+$")
    tags: list[str] | None = Field(None, max_length=30)
    visibility: Visibility | None = None
    status: ArticleStatus | None = None
    kind: ArticleKind | None = None
    faq: list[FaqItem] | None = Field(None, max_length=200)
    video: Video | None = None
    attachments: list[ArticleFile] | None = Field(None, max_length=50)
    base_version: int | None = Field(None, description="Refuse the update if the article moved on (409)")

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str] | None) -> list[str] | None:
        return None if tags is None else _ArticleFields._tags(tags)


class ArticleOut(BaseModel):
    id: str
    group_id: str
    locale: str
    slug: str
    url: str
    title: str
    summary: str
    body: str
    body_html: str
    category: str
    tags: list[str]
    visibility: Visibility
    status: ArticleStatus
    kind: ArticleKind = ArticleKind.article
    faq: list[FaqItem] = Field(default_factory=list)
    video: Video | None = None
    attachments: list[ArticleFile] = Field(default_factory=list)
    author_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    translations: dict[str, str] = Field(default_factory=dict, description="locale → article id")

    @classmethod
    def of(cls, a: Article, translations: dict[str, str] | None = None) -> ArticleOut:
        data = a.model_dump(exclude={"body_md", "media_ids"})
        return cls(**data, body=a.body_md, url=a.url, translations=translations or {})


class ArticleVersion(BaseModel):
    article_id: str
    version: int
    title: str
    summary: str
    body: str
    status: ArticleStatus
    visibility: Visibility
    author_id: str | None
    at: datetime = Field(default_factory=utcnow)
