"""The web page end to end in a real browser: Debian Chromium, headless, driven by
Playwright — key prompt, upload with progress (and an optional speaker count), live
status, a streamed answer, and a citation that seeks the player to the cited moment.
Tamil/Hindi text round-trips."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, Response, expect, sync_playwright

from ingestion.diarize import MAX_SPEAKERS, MIN_SPEAKERS
from tests.live_server import API_KEY, TALK_TITLE, LiveServer, ffmpeg_copy
from tests.media import MediaFixture

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
QUESTION = "What did Mr. John Dashwood have leisure to consider?"
TITLE = "கூட்டம் — बैठक"  # Tamil and Hindi


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is required at /usr/bin/chromium (apt install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, service: LiveServer) -> Iterator[Page]:
    context = browser.new_context(base_url=service.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # anything the page's Content-Security-Policy blocked
    page.on(
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    try:
        yield page
    finally:
        context.close()
    assert errors == [], errors


def enter_key(page: Page, key: str) -> None:
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    page.get_by_label("API key", exact=True).fill(key)
    page.get_by_role("button", name="Save key").click()


def test_page_asks_for_the_key_and_is_labelled(page: Page) -> None:
    page.goto("/")
    enter_key(page, "wrong-key")
    expect(page.locator("#key-error")).to_have_text("That key was not accepted.")
    enter_key(page, API_KEY)
    expect(page.locator("#key-dialog")).to_be_hidden()
    expect(page.locator("#media-table")).to_be_visible()
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, textarea, select')]
            .filter(el => el.type !== 'hidden' && !el.closest('label')
                    && el.labels.length === 0 && !el.getAttribute('aria-label'))
            .map(el => el.id)"""
    )
    assert unlabelled == []
    assert page.locator("#answer").get_attribute("aria-live") == "polite"
    assert page.evaluate("document.characterSet") == "UTF-8"
    # fonts for Indian scripts are available to the page (Debian fonts-noto-core)
    for font, sample in (("Noto Sans Tamil", "கூட்டம்"), ("Noto Sans Devanagari", "बैठक")):
        assert page.evaluate(
            "async ([f, s]) => { await document.fonts.load(`16px '${f}'`, s); "
            "return document.fonts.check(`16px '${f}'`, s); }",
            [font, sample],
        ), font


def test_upload_wait_ask_and_jump_to_the_cited_moment(
    page: Page, media: MediaFixture, tmp_path: Path
) -> None:
    # a copy with other bytes, so this upload is indexed now rather than deduplicated
    upload = ffmpeg_copy(media.video, tmp_path / "web-talk.mp4", comment="web test")
    page.goto("/")
    enter_key(page, API_KEY)
    page.get_by_label("Video or audio file").set_input_files(str(upload))
    page.get_by_label("Title (optional)").fill(TITLE)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-status")).to_contain_text("Uploaded", timeout=60_000)
    assert page.locator("#upload-progress").evaluate("el => el.value") == 100

    row = page.locator("#media-list tr", has_text=TITLE)
    expect(row).to_have_attribute("data-status", "ready", timeout=600_000)
    expect(row.locator("td").first).to_have_text(TITLE)

    # ask about this recording only (the shared service holds other copies of the talk)
    row.get_by_role("button", name=f"Play {TITLE}").click()
    expect(row).to_have_attribute("aria-current", "true")
    page.get_by_label("only the selected recording").check()
    page.get_by_label("Question (any language)").fill(QUESTION)
    page.get_by_label("Answer as").select_option("audio")
    # count how often the answer box changes: tokens stream in before the final render
    page.evaluate(
        """() => { window.answerUpdates = 0;
            new MutationObserver(() => window.answerUpdates++).observe(
                document.getElementById('answer'),
                {childList: true, characterData: true, subtree: true}); }"""
    )
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page.locator("#answer")).to_have_attribute("data-done", "true", timeout=600_000)
    assert page.locator("#answer").inner_text().strip()
    assert page.evaluate("window.answerUpdates") >= 3
    # the spoken answer is in the page and playable
    audio = page.locator("#answer-audio")
    expect(audio).to_be_visible()
    assert audio.get_attribute("src").startswith("/v1/answers/")
    page.wait_for_function(
        "() => document.getElementById('answer-audio').readyState >= 1", timeout=60_000
    )
    assert audio.evaluate("el => el.duration") > 0.5
    links = page.locator("#citations a.citation")
    assert links.count() >= 1, page.locator("#answer").inner_text()

    link = links.first
    start = float(link.get_attribute("data-start"))
    media_id = link.get_attribute("data-media-id")
    assert media_id == row.get_attribute("data-media-id")
    link.click()
    player = page.locator("#player")
    expect(player).to_have_attribute("data-seeked-to", link.get_attribute("data-start"))
    assert player.get_attribute("data-media-id") == media_id
    current = player.evaluate("el => el.currentTime")
    # seeked to the cited start; it may already be playing on from there
    assert start - 0.05 <= current <= start + 2.0, (current, start)


def is_upload(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/v1/media")


# the text fields of each multipart upload the page sends (the browser's own record of
# an upload's body leaves out a body with a file in it)
RECORD_UPLOAD_FIELDS = """(() => {
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    if (body instanceof FormData) {
      window.uploadFields = Object.fromEntries([...body].filter(([, v]) => typeof v === "string"));
    }
    return send.call(this, body);
  };
})()"""


def open_upload_form(page: Page) -> Locator:
    """The page, keyed, recording what each upload sends; its speaker-count field."""
    page.add_init_script(RECORD_UPLOAD_FIELDS)
    page.goto("/")
    enter_key(page, API_KEY)
    return page.get_by_label("Speakers (optional)")


def test_upload_sends_the_speaker_count(
    page: Page, service: LiveServer, media: MediaFixture, tmp_path: Path
) -> None:
    piece = ffmpeg_copy(media.audio, tmp_path / "two-speakers.m4a", length=3, comment="spk 2")
    field = open_upload_form(page)
    # the bounds are the server's own (from the upload's OpenAPI schema)
    expect(field).to_have_attribute("min", str(MIN_SPEAKERS))
    expect(field).to_have_attribute("max", str(MAX_SPEAKERS))
    expect(page.locator("#speakers-hint")).to_contain_text(f"{MIN_SPEAKERS}–{MAX_SPEAKERS}")
    page.get_by_label("Video or audio file").set_input_files(str(piece))
    page.get_by_label("Title (optional)").fill("Two at the table")
    field.fill("2")
    with page.expect_response(is_upload) as answered:
        page.get_by_role("button", name="Upload").click()
    response = answered.value
    assert response.status == 202, response.text()
    assert page.evaluate("window.uploadFields") == {"title": "Two at the table", "speakers": "2"}
    expect(page.locator("#upload-status")).to_contain_text("Uploaded")
    job = service.state.container.registry.get_job(response.json()["job_id"])
    assert job.speakers == 2
    expect(field).to_have_value("")  # the form is cleared for the next upload


def test_a_bad_speaker_count_shows_the_server_error_and_keeps_the_file(
    page: Page, service: LiveServer, media: MediaFixture, tmp_path: Path
) -> None:
    piece = ffmpeg_copy(media.audio, tmp_path / "retry.m4a", length=3, comment="spk retry")
    field = open_upload_form(page)
    expect(field).to_have_attribute("max", str(MAX_SPEAKERS))
    before = sorted(p.name for p in service.settings.media_dir.iterdir())
    with service.client() as client:
        listed = len(client.get("/v1/media").json()["media"])
    page.get_by_label("Video or audio file").set_input_files(str(piece))
    page.get_by_label("Title (optional)").fill("Retried")
    field.fill(str(MAX_SPEAKERS + 1))
    with page.expect_response(is_upload) as answered:
        page.get_by_role("button", name="Upload").click()
    assert answered.value.status == 422
    server_text = answered.value.json()["detail"]
    assert f"from {MIN_SPEAKERS} to {MAX_SPEAKERS}" in server_text
    expect(page.locator("#upload-status")).to_have_text(f"Upload refused: {server_text}")
    expect(page.get_by_role("button", name="Upload")).to_be_enabled()
    assert sorted(p.name for p in service.settings.media_dir.iterdir()) == before
    with service.client() as client:
        assert len(client.get("/v1/media").json()["media"]) == listed
    # nothing else is lost: the same file and title go again once the count is cleared
    assert page.get_by_label("Video or audio file").evaluate("el => el.files[0].name") == piece.name
    expect(page.get_by_label("Title (optional)")).to_have_value("Retried")
    field.fill("")
    with page.expect_response(is_upload) as answered:
        page.get_by_role("button", name="Upload").click()
    response = answered.value
    assert response.status == 202, response.text()
    assert page.evaluate("window.uploadFields") == {"title": "Retried"}  # no empty speakers
    expect(page.locator("#upload-status")).to_contain_text("Uploaded")
    assert service.state.container.registry.get_job(response.json()["job_id"]).speakers is None


def test_inline_citations_seek_the_player(
    page: Page, indexed_talk: dict[str, Any]
) -> None:
    """The page's own answer rendering (no model involved): an answer whose text cites
    ``[title @ mm:ss–mm:ss]`` gets inline links, and each seeks the real media."""
    page.goto("/")
    enter_key(page, API_KEY)
    result = {
        "answer": f"The volcano slide. [{TALK_TITLE} @ 00:20–00:31] Then piano.",
        "language": "en",
        "thread_id": "t",
        "citations": [
            {"media_id": indexed_talk["media_id"], "title": TALK_TITLE,
             "start_s": 20.4, "end_s": 31.0, "quote": "VOLCANO SAFETY"},
        ],
        "audio_url": None,
        "video_url": None,
    }  # fmt: skip
    page.evaluate("result => renderAnswer(result)", result)
    inline = page.locator("#answer a.citation")
    expect(inline).to_have_text(f"[{TALK_TITLE} @ 00:20–00:31]")
    expect(page.locator("#answer")).to_contain_text("The volcano slide.")
    inline.click()
    player = page.locator("#player")
    expect(player).to_have_attribute("data-seeked-to", "20.4", timeout=60_000)
    current = player.evaluate("el => el.currentTime")
    assert 20.35 <= current <= 22.4, current


def test_titles_are_shown_as_text_never_markup(
    page: Page, service: LiveServer, media: MediaFixture, tmp_path: Path
) -> None:
    hostile = '<img src=x onerror="window.pwned=1">Quarterly <b>review</b>'
    piece = ffmpeg_copy(media.audio, tmp_path / "piece.m4a", length=3)
    with service.client() as client:
        response = client.post(
            "/v1/media", files={"file": (piece.name, piece.read_bytes())}, data={"title": hostile}
        )
        assert response.status_code == 202
    page.goto("/")
    enter_key(page, API_KEY)
    row = page.locator("#media-list tr", has_text="Quarterly")
    expect(row.locator("td").first).to_have_text(hostile)
    assert row.locator("img, b").count() == 0
    assert page.evaluate("window.pwned") is None


def test_api_docs_render_offline(browser: Browser, service: LiveServer) -> None:
    """Swagger UI comes from the service itself: with every other host unreachable, /docs
    still renders the operations, and the page never even tries another host."""
    context = browser.new_context(base_url=service.url)
    elsewhere: list[str] = []

    def only_this_service(route: Any) -> None:
        if route.request.url.startswith(service.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    try:
        context.route("**/*", only_this_service)
        context.add_cookies([{"name": "chronorag_key", "value": API_KEY, "url": service.url}])
        page = context.new_page()
        page.goto("/docs")
        expect(page.locator(".opblock-summary-path", has_text="/v1/ask").first).to_be_visible(
            timeout=30_000
        )
        assert page.locator(".opblock").count() >= 10
    finally:
        context.close()
    assert elsewhere == []
