"""The transcript panel in a real browser (Debian Chromium via Playwright, like
tests/test_web_page.py): picking a recording shows its stored transcript with speakers,
a click on a line seeks the player there and that line is highlighted as it plays,
"Find in this recording" puts its search hits on the timeline (a mark seeks too), and the
chapters are listed with their times ("Finding chapters…" while the model works; a click
seeks; a failed request is an error line)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from graphs.mediatime import format_span
from tests.chapter_media import TITLE as CHAPTERED_TITLE
from tests.live_server import API_KEY, TALK_TITLE, LiveServer
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
    # a query naming a speaker keeps to their lines, and the status says whose
    page.get_by_label("Find in this recording").fill("what did speaker 1 say about a young man")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.locator("#find-status")).to_have_text(
        re.compile(r"^[1-9]\d* hits in S1's lines\.$"), timeout=30_000
    )


WATCH_CHAPTER_STATUS = """() => {
  const status = document.getElementById("chapters-status");
  window.chapterStatuses = [];
  new MutationObserver(() => window.chapterStatuses.push(status.textContent))
    .observe(status, { childList: true, characterData: true, subtree: true });
}"""


def test_chapters_are_listed_with_their_times_and_seek(
    page: Page,  # noqa: F811
    service: LiveServer,
    chaptered_meeting: dict[str, Any],
) -> None:
    page.goto("/")
    enter_key(page, API_KEY)
    media_id = chaptered_meeting["media_id"]
    page.evaluate(WATCH_CHAPTER_STATUS)
    row = page.locator(f"#media-list tr[data-media-id='{media_id}']")
    play = row.get_by_role("button", name=f"Play {CHAPTERED_TITLE}")
    play.click()
    play.click()  # picked again (while its chapters are being made): listed once all the same
    expect(page.locator("#transcript-status")).to_contain_text("lines", timeout=30_000)
    with service.client() as client:
        segments = client.get(f"/v1/media/{media_id}/transcript").json()["segments"]
    assert page.locator("#transcript li").count() == len(segments)  # shown once, not twice
    status = page.locator("#chapters-status")
    expect(status).to_have_text(re.compile(r"^\d+ chapters?\.$"), timeout=600_000)
    assert "Finding chapters…" in page.evaluate("window.chapterStatuses")
    with service.client() as client:
        expected = client.get(f"/v1/media/{media_id}/chapters").json()["chapters"]
    items = page.locator("#chapters li")
    assert items.count() == len(expected) >= 2
    # the page's times are the project's format (graphs/mediatime.py): 00:41–01:20
    shown = items.locator(".when").all_text_contents()
    assert shown == [format_span(c["start_s"], c["end_s"]) for c in expected]
    assert items.locator(".title").all_text_contents() == [c["title"] for c in expected]

    second = items.nth(1)
    assert float(second.get_attribute("data-start")) == expected[1]["start_s"] > 0
    second.get_by_role("button").click()
    player = page.locator("#player")
    expect(player).to_have_attribute(
        "data-seeked-to", second.get_attribute("data-start"), timeout=60_000
    )
    assert page.evaluate("document.getElementById('player').currentTime") == pytest.approx(
        expected[1]["start_s"], abs=0.5
    )


def test_a_failed_chapter_request_is_an_error_line(page: Page) -> None:  # noqa: F811
    page.goto("/")
    enter_key(page, API_KEY)
    expect(page.locator("#media-table")).to_be_visible()
    page.evaluate("showChapters('0123456789abcdef')")  # a recording the service does not have
    status = page.locator("#chapters-status")
    expect(status).to_have_text(
        re.compile(r"^Could not find chapters: no media with id '0123456789abcdef'"),
        timeout=30_000,
    )
    expect(status).to_have_class(re.compile(r"\berror\b"))
    assert page.locator("#chapters li").count() == 0
