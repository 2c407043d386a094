// Chapters in the transcript panel: the selected recording's chapters with their times
// (GET /v1/media/{id}/chapters), a click seeks the player to the chapter's start. The list
// is made by the chat model the first time (then stored), so it loads on its own: the
// transcript never waits for it. Loaded after app.js; uses its $, api, clock, errorText,
// seekTo and state. Text only via textContent.
"use strict";

// chapterList.request is the load in flight: a reply to an older one (another recording picked, or
// the same one again while its list was being made) is dropped, never shown twice
const chapterList = { mediaId: null, request: null, loaded: false };

async function showChapters(mediaId) {
  const list = $("chapters");
  const status = $("chapters-status");
  if (chapterList.mediaId === mediaId && (chapterList.loaded || chapterList.request)) return;
  const request = {};
  Object.assign(chapterList, { mediaId, request, loaded: false });
  list.replaceChildren();
  status.classList.remove("error");
  const item = state.media.get(mediaId);
  if (item && item.status !== "ready") {
    status.textContent = "Chapters appear once the recording is indexed.";
    chapterList.request = null; // picked again once ready, it loads
    return;
  }
  status.textContent = "Finding chapters…";
  let response;
  try {
    response = await api(`/v1/media/${encodeURIComponent(mediaId)}/chapters`);
  } catch (error) { // offline, or the key was refused three times
    if (chapterList.request === request) failed(`Could not load the chapters: ${error.message}`);
    return;
  }
  if (chapterList.request !== request) return;
  if (!response.ok) {
    failed(`Could not find chapters: ${await errorText(response)}`);
    return;
  }
  const body = await response.json();
  if (chapterList.request !== request) return;
  for (const chapter of body.chapters) {
    const li = document.createElement("li");
    li.dataset.start = String(chapter.start_s);
    li.dataset.end = String(chapter.end_s);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chapter";
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = `${clock(chapter.start_s)}–${clock(chapter.end_s)}`;
    const title = document.createElement("span");
    title.className = "title";
    title.dir = "auto";
    title.textContent = chapter.title;
    button.append(when, " ", title);
    button.setAttribute("aria-label", `Play chapter ${chapter.title} from ${clock(chapter.start_s)}`);
    button.addEventListener("click", () => seekTo(mediaId, chapter.start_s));
    li.append(button);
    list.append(li);
  }
  chapterList.loaded = true;
  chapterList.request = null;
  const n = body.chapters.length;
  status.textContent = n ? `${n} chapter${n > 1 ? "s" : ""}.` : "No chapters.";
}

function failed(message) { // the next pick of the recording tries again
  chapterList.request = null;
  const status = $("chapters-status");
  status.textContent = message;
  status.classList.add("error");
}

const loadMediaWithoutChapters = loadMedia;
// eslint-disable-next-line no-global-assign
loadMedia = function (mediaId) { // every way to pick a recording lists its chapters
  loadMediaWithoutChapters(mediaId);
  showChapters(mediaId);
};
