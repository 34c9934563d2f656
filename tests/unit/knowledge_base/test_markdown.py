"""Markdown rendering: formatting survives, scripts and event handlers never do."""

from __future__ import annotations

import pytest

from hub.models import Role
from knowledge_base.markdown import plain_text, render
from knowledge_base.models import ArticleIn, ArticlePatch, Visibility, slugify, visibilities_for


def test_markdown_renders() -> None:
    html = render(
        "# Refunds\n\nYou get **all** your money back. "
        "See [terms](https://berry.events/terms).\n\n- one\n- two"
    )
    assert "<h1>Refunds</h1>" in html and "<strong>all</strong>" in html and "<li>one</li>" in html
    assert 'href="https://berry.events/terms"' in html and 'rel="noopener noreferrer nofollow"' in html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        '<iframe src="https://evil.example"></iframe>',
        '<svg onload="alert(1)"></svg>',
        '<div style="background:url(javascript:alert(1))" onclick="alert(1)">x</div>',
        "<scr<script>ipt>alert(1)</script>",
        '<form action="https://evil.example"><input name="card"></form>',
    ],
)
def test_hostile_markup_is_sanitized(hostile: str) -> None:
    html = render(f"Hello\n\n{hostile}\n\nbye").lower()
    for bad in (
        "<script",
        "onerror",
        "onload",
        "onclick",
        '="javascript:',
        "<iframe",
        "<svg",
        "style=",
        "<form",
        "<input",
    ):
        assert bad not in html
    assert "hello" in html and "bye" in html


def test_plain_text_strips_markup_and_scripts() -> None:
    assert (
        plain_text("**Pay** the <b>deposit</b> &amp; book<script>evil()</script>") == "Pay the deposit & book"
    )


def test_visibility_by_role() -> None:
    assert visibilities_for(None) == ["public"]
    assert visibilities_for(Role.customer) == ["public"]
    assert visibilities_for(Role.provider) == ["public", "providers"]
    assert Visibility.internal.value in visibilities_for(Role.agent)


def test_article_input_checks() -> None:
    assert slugify("How do I get a Refund?") == "how-do-i-get-a-refund"
    assert slugify("!!!") == "article"
    with pytest.raises(ValueError, match="unknown locale"):
        ArticleIn(title="x", locale="klingon")
    with pytest.raises(ValueError):
        ArticleIn(title="", body="x")
    with pytest.raises(ValueError):
        ArticleIn(title="x", body="x" * 200_001)
    with pytest.raises(ValueError):
        ArticleIn(title="x", slug="Not A Slug")
    assert ArticleIn(title="x", tags=["Refund", "refund ", "money"]).tags == ["refund", "money"]
    assert ArticlePatch(tags=None).tags is None
