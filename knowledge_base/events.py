"""Knowledge-base events (dotted names, published by ``Articles`` after the store accepted the write)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from hub.events import Event

from .models import Article


class ArticleCreated(Event):
    name: ClassVar[str] = "article.created"
    article: Article


class ArticleUpdated(Event):
    name: ClassVar[str] = "article.updated"
    article: Article
    changes: dict[str, Any] = Field(default_factory=dict)
    actor_id: str | None = None


class ArticleDeleted(Event):
    name: ClassVar[str] = "article.deleted"
    article_id: str
    actor_id: str | None = None


class ArticleFeedbackGiven(Event):
    name: ClassVar[str] = "article.feedback"
    article_id: str
    helpful: bool


__all__ = ["ArticleCreated", "ArticleDeleted", "ArticleFeedbackGiven", "ArticleUpdated"]
