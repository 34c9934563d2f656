"""The dashboard's widgets as each user arranged them: their order and which are hidden, one document
per user in ``report_layouts`` (``_id`` = user id; only that user writes it, so a plain replace is safe)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.store import Store, register, upsert

WIDGETS = (
    "days",
    "channels",
    "heatmap",
    "csat",
    "times",
    "bot",
    "contacts",
    "agents",
    "sla",
    "backlog",
    "kb",
    "export",
)
COLLECTION = "report_layouts"
register(COLLECTION)


class Layout(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order: list[str] = Field(
        default_factory=lambda: list(WIDGETS),
        max_length=len(WIDGETS),
        description="Widget ids, first shown first; ids left out follow in default order",
    )
    hidden: list[str] = Field(default_factory=list, max_length=len(WIDGETS))

    @field_validator("order", "hidden")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [w for w in value if w not in WIDGETS]
        if unknown:
            raise ValueError(f"unknown widget {unknown[0][:40]!r}; known: {', '.join(WIDGETS)}")
        if len(set(value)) != len(value):
            raise ValueError("a widget is listed twice")
        return value

    def complete(self) -> Layout:
        """Every widget in the order (new widgets, or ones left out, at the end)."""
        return Layout(order=[*self.order, *[w for w in WIDGETS if w not in self.order]], hidden=self.hidden)


async def load(store: Store, user_id: str) -> Layout:
    doc: dict[str, Any] | None = await store[COLLECTION].find_one({"_id": user_id})
    if not doc:
        return Layout()
    # a widget removed from a later version is dropped rather than refused
    return Layout(order=[w for w in doc.get("order", []) if w in WIDGETS],
                  hidden=[w for w in doc.get("hidden", []) if w in WIDGETS]).complete()


async def save(store: Store, user_id: str, layout: Layout) -> Layout:
    layout = layout.complete()
    await upsert(store[COLLECTION], {"_id": user_id}, layout.model_dump(), replace=True)
    return layout


__all__ = ["WIDGETS", "Layout", "load", "save"]
