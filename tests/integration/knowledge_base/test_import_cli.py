"""Import (Markdown folder with front matter, CSV), the bundled content, and the CLI end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from hub import keys
from hub.models import Role
from knowledge_base.importer import import_path
from knowledge_base.search import SearchQuery
from knowledge_base.seed import import_default

GOOD = """---
title: Parking at the venue
category: booking
tags: [parking, venue]
---
Most venues have **free parking** for guests.
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


async def test_malformed_files_are_reported_and_the_rest_imported(client: Any, tmp_path: Path) -> None:
    kb = client.server.app[keys.EXTENSIONS]["knowledge_base"]
    write(tmp_path, "good.md", GOOD)
    write(tmp_path, "no-front-matter.md", "# Just a heading\n")
    write(tmp_path, "unclosed.md", "---\ntitle: x\n\nbody")
    write(tmp_path, "bad-yaml.md", "---\ntitle: [unclosed\n---\nbody\n")
    write(tmp_path, "list.md", "---\n- a\n- b\n---\nbody\n")
    write(tmp_path, "no-title.md", "---\ncategory: booking\n---\nbody\n")
    write(tmp_path, "bad-locale.md", "---\ntitle: Hallo\nlocale: tlh\n---\nbody\n")
    write(tmp_path, "orphan.md", "---\ntitle: Vertaling\nlocale: af\ntranslation_of: nowhere\n---\nbody\n")
    write(
        tmp_path,
        "hostile.md",
        "---\ntitle: Hostile\n---\n<script>alert(1)</script><img src=x onerror=alert(1)> ok\n",
    )
    (tmp_path / "binary.md").write_bytes(b"---\ntitle: \xff\xfe\n---\n")
    report = await import_path(kb.articles, tmp_path)
    errors = dict(report.errors)
    assert len(report.created) == 2 and set(errors) == {
        "no-front-matter.md",
        "unclosed.md",
        "bad-yaml.md",
        "list.md",
        "no-title.md",
        "bad-locale.md",
        "orphan.md",
        "binary.md",
    }
    assert "title" in errors["no-title.md"] and "locale" in errors["bad-locale.md"]
    hostile = await kb.articles.by_slug("en", "hostile")
    assert (
        "<script" not in hostile.body_html
        and "onerror" not in hostile.body_html
        and "ok" in hostile.body_html
    )
    again = await import_path(kb.articles, tmp_path)  # idempotent
    assert again.created == [] and again.updated == [] and len(again.unchanged) == 2
    write(tmp_path, "good.md", GOOD.replace("free parking", "paid parking"))
    changed = await import_path(kb.articles, tmp_path)
    assert len(changed.updated) == 1
    assert (await kb.articles.by_slug("en", "parking-at-the-venue")).version == 2


async def test_csv_import(client: Any, tmp_path: Path) -> None:
    kb = client.server.app[keys.EXTENSIONS]["knowledge_base"]
    path = write(
        tmp_path,
        "faq.csv",
        "title,body,category,tags,visibility\n"
        'Gift vouchers,"You can buy **vouchers**.",payments,"voucher;gift",public\n'
        "Provider insurance,Providers need cover.,providers,insurance,providers\n"
        ",missing title,general,,public\n"
        "Too,many,values,here,public,extra\n",
    )
    report = await import_path(kb.articles, path)
    assert len(report.created) == 2
    assert sorted(s for s, _ in report.errors) == ["faq.csv:4", "faq.csv:5"]
    voucher = await kb.articles.by_slug("en", "gift-vouchers")
    assert voucher.tags == ["voucher", "gift"] and "<strong>vouchers</strong>" in voucher.body_html
    bad = write(tmp_path, "nohead.csv", "a,b\n1,2\n")
    assert (await import_path(kb.articles, bad)).errors[0][0] == "nohead.csv"


async def test_default_content_imports_with_translations_and_is_searchable(client: Any, api: Any) -> None:
    app = client.server.app
    report = await import_default(app)
    assert report.errors == [] and len(report.created) >= 25
    kb = app[keys.EXTENSIONS]["knowledge_base"]
    refunds = await kb.articles.by_slug("en", "how-refunds-work")
    assert set(await kb.articles.translations(refunds)) == {"en", "af", "zu"}
    hits = await kb.search(SearchQuery(text="when do I get my money back", locale="en"))
    assert hits[0].id == refunds.id
    af = await kb.search(SearchQuery(text="terugbetaling", locale="af"))
    assert af and af[0].locale == "af"
    provider_hits = await kb.search(
        SearchQuery(text="when are payouts paid", locale="en", visibilities=["public", "providers"])
    )
    assert provider_hits[0].url == "/help/en/articles/provider-payouts"
    public_hits = await kb.search(SearchQuery(text="when are payouts paid", locale="en"))
    assert all("payout" not in h.url for h in public_hits)
    assert (await import_default(app)).created == []


async def test_a_demo_run_again_gets_new_bundled_articles_and_keeps_edits(client: Any) -> None:
    from hub.models import new_id
    from knowledge_base.models import ArticlePatch

    app = client.server.app
    await import_default(app)
    kb = app[keys.EXTENSIONS]["knowledge_base"]
    edited = await kb.articles.by_slug("en", "payment-methods")
    await kb.articles.update(edited.id, ArticlePatch(summary="Edited by the demo's admin."), None)
    new = await kb.articles.by_slug("en", "invoices")  # as if a later version bundled it
    await kb.articles.delete(new.id, None)
    await app[keys.STORE]["kb_bundled"].delete_one({"_id": "en:invoices"})
    assert await kb.articles.by_slug("en", "invoices") is None
    deleted = await kb.articles.by_slug("en", "leaving-a-review")  # the demo's admin deleted this one
    await kb.articles.delete(deleted.id, None)
    await app[keys.USERS].create(f"admin-{new_id()}@example.com", "correct horse battery", Role.admin, "Ad")
    from hub.demo import seed_demo

    assert (await seed_demo(app))["seeded"] is False  # users exist: no demo data again …
    assert (await kb.articles.by_slug("en", "invoices")) is not None  # … but the new article
    assert (await kb.articles.by_slug("en", "leaving-a-review")) is None  # and not one they deleted
    assert (await kb.articles.by_slug("en", "payment-methods")).summary == "Edited by the demo's admin."
    [top, *_] = await kb.search(SearchQuery(text="invoice receipt VAT", locale="en"))
    assert top.url.endswith("/invoices")


def test_cli_import_and_check(mongodb_url: str, db_name: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BERRY_MONGODB_URL": mongodb_url,
        "BERRY_MONGODB_DB": db_name,
        "BERRY_VAR_DIR": str(tmp_path / "var"),
        "HF_HUB_OFFLINE": "1",
        "BERRY_LOG_LEVEL": "WARNING",
    }
    folder = tmp_path / "docs"
    folder.mkdir()
    write(folder, "good.md", GOOD)
    write(folder, "broken.md", "no front matter")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "knowledge_base", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=180,
        )

    imported = run("import", str(folder))
    assert imported.returncode == 1 and imported.stdout.strip(), imported.stderr
    assert json.loads(imported.stdout.strip().splitlines()[-1])["created"] == 1
    assert "broken.md: no front matter" in imported.stderr
    check = run("check", "--repair")
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout.strip().splitlines()[0])["checked"] == 1


async def test_faq_articles_import_from_front_matter(client: Any, tmp_path: Path) -> None:
    kb = client.server.app[keys.EXTENSIONS]["knowledge_base"]
    faq = (
        "---\ntitle: Parking FAQ\nkind: faq\nfaq:\n"
        "  - question: Is parking free?\n    answer: Mostly **yes**.\n"
        "  - question: Can buses park?\n    answer: Ask the venue.\n---\nIntro.\n"
    )
    write(tmp_path, "faq.md", faq)
    write(tmp_path, "empty-faq.md", "---\ntitle: Empty FAQ\nkind: faq\n---\nNo questions.\n")
    write(tmp_path, "bad-faq.md", "---\ntitle: Bad FAQ\nfaq: [just a string]\n---\nx\n")
    report = await import_path(kb.articles, tmp_path)
    assert len(report.created) == 1 and set(dict(report.errors)) == {"empty-faq.md", "bad-faq.md"}
    article = await kb.articles.by_slug("en", "parking-faq")
    assert [f.question for f in article.faq] == ["Is parking free?", "Can buses park?"]
    assert article.faq[0].answer_html == "<p>Mostly <strong>yes</strong>.</p>"
    assert (await import_path(kb.articles, tmp_path)).unchanged == [article.id]  # idempotent
    write(tmp_path, "faq.md", faq.replace("Ask the venue.", "Yes, at the back."))
    assert len((await import_path(kb.articles, tmp_path)).updated) == 1
    assert (await kb.articles.by_slug("en", "parking-faq")).faq[1].answer == "Yes, at the back."
