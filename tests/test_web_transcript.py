"""The transcript panel in a real browser (Debian Chromium via Playwright, like
tests/test_web_page.py): picking a recording shows its stored transcript with speakers,
a click on a line seeks the player there and that line is highlighted as it plays, and
"Find in this recording" puts its search hits on the timeline (a mark seeks too)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.live_server import API_KEY, TALK_TITLE
from tests.test_web_page import browser, enter_key, page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def test_transcript_lines_seek_and_follow_the_player(
    page: Page,  # noqa: F811
    indexed_talk: dict[str, Any],
) -> None:
    page.goto("/")
    enter_key(page, API_KEY)
    media_id = indexed_talk["media_id"]
    row = page.locator(f"#media-list tr[data-media-id='{media_id}']")
    row.get_by_role("button", name=f"Play {TALK_TITLE}").click()
    lines = page.locator("#transcript li")
    expect(page.locator("#transcript-status")).to_contain_text("lines", timeout=30_000)
    assert lines.count() >= 3
    # one reader: every line is hers, in one colour, with its time
    assert set(lines.evaluate_all("els => els.map(e => e.dataset.speaker)")) == {"S1"}
    assert set(lines.evaluate_all("els => els.map(e => e.className)")) == {"spk-0"}
    expect(lines.first.locator(".when")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    starts = [float(s) for s in lines.evaluate_all("els => els.map(e => e.dataset.start)")]
    assert starts == sorted(starts)

    line = page.locator("#transcript li", has_text="disposed").first
    start = line.get_attribute("data-start")
    line.get_by_role("button").click()
    player = page.locator("#player")
    expect(player).to_have_attribute("data-seeked-to", start, timeout=60_000)
    expect(line).to_have_attribute("aria-current", "true")
    assert page.locator("#transcript li[aria-current='true']").count() == 1
    # the highlight follows the time: a later line once the player is there
    last = lines.last
    page.evaluate(
        "t => { const p = document.getElementById('player'); p.pause(); p.currentTime = t; }",
        float(last.get_attribute("data-start")) + 0.1,
    )
    expect(last).to_have_attribute("aria-current", "true")
    expect(line).not_to_have_attribute("aria-current", "true")


def test_find_marks_hits_on_the_timeline(
    page: Page,  # noqa: F811
    indexed_talk: dict[str, Any],
) -> None:
    page.goto("/")
    enter_key(page, API_KEY)
    media_id = indexed_talk["media_id"]
    row = page.locator(f"#media-list tr[data-media-id='{media_id}']")
    row.get_by_role("button", name=f"Play {TALK_TITLE}").click()
    expect(page.locator("#transcript-status")).to_contain_text("lines", timeout=30_000)
    page.get_by_label("Find in this recording").fill("a young man who was not badly disposed")
    page.get_by_role("button", name="Find", exact=True).click()
    marks = page.locator("#timeline .mark")
    expect(page.locator("#find-status")).to_contain_text("hits", timeout=30_000)
    assert marks.count() >= 1
    top = marks.first
    left = top.evaluate("el => parseFloat(el.style.left)")
    start = float(top.get_attribute("data-start"))
    assert 0 <= left <= 100
    duration = page.evaluate("id => state.media.get(id).duration_s", media_id)
    assert abs(left - 100 * start / duration) < 1.0
    top.click()
    expect(page.locator("#player")).to_have_attribute(
        "data-seeked-to", top.get_attribute("data-start"), timeout=60_000
    )
