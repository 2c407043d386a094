// ChronoRAG web page: upload with progress, live media status, streamed answers whose
// citations seek the player. Plain JS, no build step. Untrusted text is only ever set
// with textContent (titles, answers and quotes come from users and recordings).
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORE = "chronorag_key";
const state = { media: new Map(), mediaJson: "", selected: null, threadId: null };

// --- API key -------------------------------------------------------------------------
function apiKey() { return localStorage.getItem(KEY_STORE) || ""; }

function setKey(key) {
  localStorage.setItem(KEY_STORE, key);
  // <video src> cannot send headers: the service also accepts the key as a same-site
  // cookie, for GET requests only.
  document.cookie = `${KEY_STORE}=${encodeURIComponent(key)}; path=/; SameSite=Strict`;
}

function authHeaders(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

let keyWaiters = [];
function askForKey(message) {
  $("key-error").textContent = message || "";
  if (!$("key-dialog").open) $("key-dialog").showModal();
  $("api-key").focus();
  return new Promise((resolve) => keyWaiters.push(resolve));
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("api-key").value.trim();
  if (!key) return;
  setKey(key);
  $("key-dialog").close();
  const waiters = keyWaiters;
  keyWaiters = [];
  waiters.forEach((resolve) => resolve());
});

// fetch with the key; on 401 ask for a (new) key and retry once
async function api(path, options = {}) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const response = await fetch(path, { ...options, headers: authHeaders(options.headers) });
    if (response.status !== 401) return response;
    await askForKey(apiKey() ? "That key was not accepted." : "");
  }
  throw new Error("not authorised");
}

async function errorText(response) {
  try {
    const body = await response.json();
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch { return `${response.status} ${response.statusText}`; }
}

// --- time ----------------------------------------------------------------------------
function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function parseClock(text) {
  return text.split(":").map(Number).reduce((acc, n) => acc * 60 + n, 0);
}

// --- player --------------------------------------------------------------------------
function mediaUrl(mediaId) { return `/v1/media/${encodeURIComponent(mediaId)}/file`; }

function loadMedia(mediaId) {
  const player = $("player");
  const item = state.media.get(mediaId);
  state.selected = mediaId;
  $("now-playing").textContent = `Playing: ${item ? item.title : mediaId}`;
  if (player.dataset.mediaId !== mediaId) {
    player.dataset.mediaId = mediaId;
    player.src = mediaUrl(mediaId);
  }
  renderMedia();
}

function seekTo(mediaId, startS) {
  const player = $("player");
  loadMedia(mediaId);
  delete player.dataset.seekedTo;
  const apply = () => {
    player.currentTime = startS;
    const done = () => {
      player.dataset.seekedTo = String(startS);
      player.play().catch(() => {}); // autoplay may be refused; the seek stands
    };
    if (Math.abs(player.currentTime - startS) < 0.05 && !player.seeking) done();
    else player.addEventListener("seeked", done, { once: true });
  };
  if (player.readyState >= 1) apply();
  else player.addEventListener("loadedmetadata", apply, { once: true });
  $("now-playing").textContent += ` — at ${clock(startS)}`;
  player.focus();
}

// --- media list ----------------------------------------------------------------------
function statusText(item) {
  if (item.status === "running") {
    const pct = Math.round((item.progress || 0) * 100);
    return `indexing${item.stage ? ` (${item.stage} ${pct}%)` : ""}`;
  }
  if (item.status === "failed") return `failed: ${item.error || "unknown error"}`;
  return item.status;
}

function renderMedia() {
  const body = $("media-list");
  body.replaceChildren();
  $("media-empty").hidden = state.media.size > 0;
  for (const item of state.media.values()) {
    const row = document.createElement("tr");
    row.dataset.mediaId = item.media_id;
    row.dataset.status = item.status;
    if (item.media_id === state.selected) row.setAttribute("aria-current", "true");

    const title = document.createElement("td");
    title.textContent = item.title;
    title.dir = "auto";
    const length = document.createElement("td");
    length.textContent = item.duration_s ? clock(item.duration_s) : "—";
    const status = document.createElement("td");
    status.className = `status status-${item.status}`;
    status.textContent = statusText(item);
    const actions = document.createElement("td");
    const play = document.createElement("button");
    play.type = "button";
    play.textContent = "Play";
    play.setAttribute("aria-label", `Play ${item.title}`);
    play.addEventListener("click", () => loadMedia(item.media_id));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete ${item.title}`);
    remove.disabled = item.status === "running";
    remove.addEventListener("click", () => deleteMedia(item));
    actions.append(play, " ", remove);
    row.append(title, length, status, actions);
    body.append(row);
  }
}

let refreshTimer = null;
async function refreshMedia() {
  clearTimeout(refreshTimer);
  try {
    const response = await api("/v1/media");
    if (response.ok) {
      const text = await response.text();
      if (text !== state.mediaJson) { // re-render only on change: keeps keyboard focus
        state.mediaJson = text;
        state.media = new Map(JSON.parse(text).media.map((m) => [m.media_id, m]));
        renderMedia();
      }
    }
  } catch (err) { console.warn(err); }
  const busy = [...state.media.values()].some((m) => m.status === "queued" || m.status === "running");
  refreshTimer = setTimeout(refreshMedia, busy ? 1000 : 5000);
}

async function deleteMedia(item) {
  if (!confirm(`Delete “${item.title}” and its index?`)) return;
  const response = await api(`/v1/media/${encodeURIComponent(item.media_id)}`, { method: "DELETE" });
  $("upload-status").textContent = response.ok ? `Deleted ${item.title}.` : await errorText(response);
  refreshMedia();
}

// --- upload (XHR for upload progress) ------------------------------------------------
function upload(form) {
  const file = $("file").files[0];
  if (!file) return;
  const data = new FormData();
  if ($("title").value.trim()) data.append("title", $("title").value.trim());
  if ($("recorded-at").value) data.append("recorded_at", new Date($("recorded-at").value).toISOString());
  if ($("speakers").value) data.append("speakers", $("speakers").value);
  data.append("file", file); // last: the fields arrive before the (large) file

  const bar = $("upload-progress"), status = $("upload-status"), button = $("upload-button");
  bar.hidden = false;
  bar.value = 0;
  button.disabled = true;
  status.textContent = `Uploading ${file.name}…`;

  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/v1/media");
  for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
  xhr.upload.addEventListener("progress", (e) => {
    if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
  });
  xhr.addEventListener("load", async () => {
    button.disabled = false;
    if (xhr.status === 401) {
      await askForKey("That key was not accepted.");
      upload(form);
      return;
    }
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
    if (xhr.status === 202) {
      bar.value = 100;
      status.textContent = `Uploaded. Indexing ${body.media_id}…`;
      form.reset();
      refreshMedia();
    } else {
      bar.hidden = true;
      status.textContent = `Upload refused: ${body.detail || xhr.status}`;
    }
  });
  xhr.addEventListener("error", () => {
    button.disabled = false;
    bar.hidden = true;
    status.textContent = "Upload failed (connection closed — is the file over the size limit?)";
  });
  xhr.send(data);
}

// The form is novalidate: the browser still checks each field here, but the speaker
// count's range is the server's rule, and its 422 (naming the bounds) lands in the status
// line with the file still chosen. Only a speaker count that is not a number stops here.
function readyToUpload(form) {
  for (const el of form.elements) {
    const bad = el.id === "speakers" ? el.validity.badInput : !el.checkValidity();
    if (bad) {
      el.reportValidity();
      return false;
    }
  }
  return true;
}

$("upload-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (readyToUpload(event.target)) upload(event.target);
});

// The speaker-count bounds (ingestion.diarize MIN_SPEAKERS/MAX_SPEAKERS) come from the
// upload's OpenAPI schema, not a copy here; without them the server still checks.
async function loadUploadBounds() {
  try {
    const response = await api("/openapi.json");
    if (!response.ok) return;
    const speakers = (await response.json()).paths?.["/v1/media"]?.post?.requestBody
      ?.content?.["multipart/form-data"]?.schema?.properties?.speakers;
    if (!Number.isInteger(speakers?.minimum) || !Number.isInteger(speakers?.maximum)) return;
    $("speakers").min = String(speakers.minimum);
    $("speakers").max = String(speakers.maximum);
    $("speakers-hint").textContent =
      `${speakers.minimum}–${speakers.maximum}; empty: found from the recording`;
  } catch (err) { console.warn(err); }
}

// --- asking (SSE over fetch) ---------------------------------------------------------
const CITE = /\[([^[\]]+?) @ (\d{1,2}(?::\d{2}){1,2})\s*[–—-]\s*(\d{1,2}(?::\d{2}){1,2})\]/g;

function citationLink(citation, label) {
  const link = document.createElement("a");
  link.href = `${mediaUrl(citation.media_id)}#t=${citation.start_s}`;
  link.className = "citation";
  link.dataset.mediaId = citation.media_id;
  link.dataset.start = String(citation.start_s);
  link.textContent = label || `[${citation.title} @ ${clock(citation.start_s)}–${clock(citation.end_s)}]`;
  link.setAttribute("aria-label", `Play ${citation.title} from ${clock(citation.start_s)}`);
  link.addEventListener("click", (event) => {
    event.preventDefault();
    seekTo(citation.media_id, citation.start_s);
  });
  return link;
}

function findCitation(citations, title, startS) {
  let best = null, bestGap = Infinity;
  for (const c of citations) {
    if (c.title !== title) continue;
    const gap = Math.abs(c.start_s - startS);
    if (gap < bestGap) { best = c; bestGap = gap; }
  }
  return best && bestGap <= 60 ? best : null;
}

// the answer text with each [title @ mm:ss–mm:ss] turned into a seek link
function renderAnswer(result) {
  const box = $("answer");
  box.replaceChildren();
  box.lang = result.language || "";
  let last = 0;
  for (const match of result.answer.matchAll(CITE)) {
    box.append(result.answer.slice(last, match.index));
    const found = findCitation(result.citations, match[1], parseClock(match[2]));
    box.append(found ? citationLink({ ...found, start_s: found.start_s }, match[0]) : match[0]);
    last = match.index + match[0].length;
  }
  box.append(result.answer.slice(last));

  const list = $("citations");
  list.replaceChildren();
  for (const c of result.citations) {
    const li = document.createElement("li");
    li.append(citationLink(c));
    if (c.quote) {
      const quote = document.createElement("span");
      quote.className = "quote";
      quote.dir = "auto";
      quote.textContent = ` “${c.quote}”`;
      li.append(quote);
    }
    list.append(li);
  }
  const audio = $("answer-audio"), video = $("answer-video");
  audio.hidden = !result.audio_url;
  video.hidden = !result.video_url;
  if (result.video_url) {
    video.src = result.video_url;
    video.play().catch(() => {});
  } else if (result.audio_url) {
    audio.src = result.audio_url;
    audio.play().catch(() => {});
  }
}

async function* sseEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let event = "message", data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: data.join("\n") };
    }
  }
}

const TOOL_NAMES = {
  search: "searching the recordings", read_window: "reading the transcript",
  look: "looking at the frames", list_media: "listing recordings",
  summarize: "summarising", speak: "speaking the answer",
};

async function ask(event) {
  event.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  const button = $("ask-button"), progress = $("ask-progress"), box = $("answer");
  button.disabled = true;
  box.replaceChildren();
  box.removeAttribute("lang");
  $("citations").replaceChildren();
  $("answer-audio").hidden = true;
  $("answer-video").hidden = true;
  progress.textContent = "Thinking…";
  const body = { question, speak: $("speak").value };
  if (state.threadId) body.thread_id = state.threadId;
  if ($("only-selected").checked && state.selected) body.media_ids = [state.selected];
  try {
    const response = await api("/v1/ask", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      progress.textContent = `Could not ask: ${await errorText(response)}`;
      return;
    }
    let streamed = "";
    for await (const { event: kind, data } of sseEvents(response)) {
      const payload = JSON.parse(data);
      if (kind === "progress") {
        progress.textContent = `${TOOL_NAMES[payload.tool] || payload.tool || "working"}…`;
      } else if (kind === "token") {
        streamed += payload.text;
        box.textContent = streamed;
      } else if (kind === "final") {
        state.threadId = payload.thread_id;
        renderAnswer(payload);
        progress.textContent = payload.citations.length
          ? "Answered. Select a citation to play that moment."
          : "Answered.";
        if (payload.speech_error) progress.textContent += ` (Not spoken: ${payload.speech_error})`;
        box.dataset.done = "true";
      } else if (kind === "error") {
        progress.textContent = `The agent failed: ${payload.detail}`;
      }
    }
  } catch (err) {
    progress.textContent = `Could not ask: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

$("ask-form").addEventListener("submit", ask);
$("question").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("ask-form").requestSubmit();
});
$("new-thread").addEventListener("click", () => {
  state.threadId = null;
  $("ask-progress").textContent = "New conversation started.";
});

// --- start ---------------------------------------------------------------------------
if (apiKey()) setKey(apiKey()); // refresh the cookie
refreshMedia();
loadUploadBounds();
