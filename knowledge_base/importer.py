"""Import articles from a folder of Markdown files with YAML front matter, or from a CSV file.

Front matter: ``title`` (required), ``slug``, ``summary``, ``category``, ``tags``, ``visibility``,
``status`` (default ``published``), ``locale`` (default ``en``) and ``translation_of`` (the slug
of the original, in English unless written ``<locale>:<slug>``). CSV: the same names as columns,
``body`` for the Markdown and tags separated by ``;`` or ``,``.

Import is an upsert on (locale, slug): unchanged articles are skipped, changed ones get a new
version, so importing twice changes nothing. A file that cannot be read or validated is reported
with its reason and the rest is imported; originals are imported before their translations.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .articles import Articles
from .models import Article, ArticleIn, ArticlePatch, ArticleStatus, slugify

log = logging.getLogger(__name__)
MAX_FILE_BYTES = 1_000_000
FIELDS = (
    "title",
    "slug",
    "summary",
    "category",
    "tags",
    "visibility",
    "status",
    "locale",
    "translation_of",
    "body",
    "kind",
    "faq",  # front matter: a list of {question, answer}
)


class BadSource(ValueError):
    """A source (file or CSV row) that cannot become an article."""


@dataclass
class Source:
    name: str
    data: dict[str, Any]


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # "<locale>:<slug>" of every source applied

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "errors": [{"source": s, "error": e} for s, e in self.errors],
        }


def parse_markdown(text: str, name: str) -> dict[str, Any]:
    text = text.lstrip("\ufeff")
    if not text.startswith("---"):
        raise BadSource("no front matter (the file must start with a '---' line)")
    end = text.find("\n---", 3)
    if end < 0:
        raise BadSource("front matter is not closed by a '---' line")
    try:
        meta = yaml.safe_load(text[3:end])
    except yaml.YAMLError as exc:
        raise BadSource(f"front matter is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(meta, dict):
        raise BadSource("front matter must be a mapping of fields")
    body = text[end + 4 :].split("\n", 1)[1] if "\n" in text[end + 4 :] else ""
    return {**meta, "body": body.strip() + "\n"}


def read_folder(folder: Path) -> tuple[list[Source], list[tuple[str, str]]]:
    sources, errors = [], []
    for path in sorted(folder.rglob("*.md")):
        name = str(path.relative_to(folder))
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise BadSource(f"larger than {MAX_FILE_BYTES} bytes")
            sources.append(Source(name, parse_markdown(path.read_text(encoding="utf-8"), name)))
        except (BadSource, UnicodeDecodeError, OSError) as exc:
            errors.append((name, str(exc)))
    return sources, errors


def read_csv(path: Path) -> tuple[list[Source], list[tuple[str, str]]]:
    sources, errors = [], []
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (UnicodeDecodeError, OSError) as exc:
        return [], [(path.name, f"cannot read: {exc}")]
    reader = csv.DictReader(io.StringIO(raw))
    if not reader.fieldnames or "title" not in reader.fieldnames:
        return [], [(path.name, "the CSV needs a header row with at least a 'title' column")]
    for n, row in enumerate(reader, start=2):
        name = f"{path.name}:{n}"
        if None in row:
            errors.append((name, "more values than header columns"))
            continue
        data = {k: v for k, v in row.items() if k in FIELDS and v not in (None, "")}
        if "tags" in data:
            data["tags"] = [t for t in data["tags"].replace(";", ",").split(",") if t.strip()]
        sources.append(Source(name, data))
    return sources, errors


def read_sources(path: Path) -> tuple[list[Source], list[tuple[str, str]]]:
    if path.is_dir():
        return read_folder(path)
    if path.suffix.lower() == ".csv":
        return read_csv(path)
    if path.suffix.lower() == ".md":
        try:
            return [Source(path.name, parse_markdown(path.read_text(encoding="utf-8"), path.name))], []
        except (BadSource, UnicodeDecodeError, OSError) as exc:
            return [], [(path.name, str(exc))]
    return [], [(path.name, "expected a folder of .md files, a .md file or a .csv file")]


async def _apply(articles: Articles, source: Source, author_id: str | None, report: ImportReport,
                 only_new: bool = False, skip: Container[str] = ()) -> str | None:
    """Apply one source; its "<locale>:<slug>", or None when ``skip`` has it."""
    data = {k: v for k, v in source.data.items() if k in FIELDS}
    data.setdefault("status", ArticleStatus.published.value)
    translation_of = data.pop("translation_of", None)
    try:
        article_in = ArticleIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadSource(f"{'.'.join(map(str, first['loc'])) or 'file'}: {first['msg']}") from exc
    article_in.slug = article_in.slug or slugify(article_in.title)
    key = f"{article_in.locale}:{article_in.slug}"
    if key in skip:
        return None
    if translation_of:
        locale, _, slug = str(translation_of).rpartition(":")
        original = await articles.by_slug(locale or "en", slug)
        if original is None:
            raise BadSource(f"translation_of: no article {translation_of!r} (import the original first)")
        article_in.translation_of = original.id
    existing = await articles.by_slug(article_in.locale, article_in.slug)
    if existing is None:
        created = await articles.create(article_in, author_id)
        report.created.append(created.id)
        return key
    changes = _changes(existing, article_in)
    if not changes or only_new:
        report.unchanged.append(existing.id)
        return key
    await articles.update(existing.id, ArticlePatch.model_validate(changes), author_id)
    report.updated.append(existing.id)
    return key


def _changes(existing: Article, new: ArticleIn) -> dict[str, Any]:
    current = {
        "title": existing.title,
        "summary": existing.summary,
        "body": existing.body_md,
        "category": existing.category,
        "tags": existing.tags,
        "visibility": existing.visibility,
        "status": existing.status,
    }
    wanted = new.model_dump(include=set(current))
    changes = {k: v for k, v in wanted.items() if v != current[k]}
    if new.kind != existing.kind:
        changes["kind"] = new.kind
    if [(f.question, f.answer) for f in new.faq] != [(f.question, f.answer) for f in existing.faq]:
        changes["faq"] = [{"question": f.question, "answer": f.answer} for f in new.faq]
    return changes


async def import_sources(
    articles: Articles,
    sources: Iterable[Source],
    *,
    author_id: str | None = None,
    report: ImportReport | None = None,
    progress: Callable[[int], None] | None = None,
    only_new: bool = False,
    skip: Container[str] = (),
) -> ImportReport:
    """Upsert each source on (locale, slug). ``only_new``: create the missing articles only, leave
    the existing ones as they are (even if the source differs: someone may have edited them).
    ``skip``: the "<locale>:<slug>" of sources to leave out (not even reported)."""
    report = report or ImportReport()
    ordered = sorted(sources, key=lambda s: bool(s.data.get("translation_of")))  # originals first
    for source in ordered:
        try:
            key = await _apply(articles, source, author_id, report, only_new, skip)
            if key is not None:
                report.keys.append(key)
        except BadSource as exc:
            report.errors.append((source.name, str(exc)))
        except Exception as exc:  # e.g. a Conflict: report it, keep importing the rest
            report.errors.append((source.name, getattr(exc, "detail", None) or repr(exc)))
        if progress:
            progress(1)
    if report.errors:
        log.warning("import finished with errors", extra={"errors": len(report.errors)})
    return report


async def import_path(
    articles: Articles,
    path: Path,
    *,
    author_id: str | None = None,
    progress: Callable[[int], None] | None = None,
    only_new: bool = False,
    skip: Container[str] = (),
) -> ImportReport:
    sources, errors = read_sources(path)
    report = ImportReport(errors=list(errors))
    return await import_sources(articles, sources, author_id=author_id, report=report, progress=progress,
                                only_new=only_new, skip=skip)
