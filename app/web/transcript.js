// The transcript panel beside the player: the selected recording's lines with their
// speakers (one colour each), the line being played highlighted, a click on a line seeks
// there; "Find in this recording" marks its search hits on a timeline under the player.
// Loaded after app.js; uses its $, api, clock, seekTo and state. Text only via textContent.
"use strict";

// transcript.request is the load in flight: a reply to an older one (another recording
// picked, or the same one again while it loads) is dropped, never shown twice
const transcript = { mediaId: null, lines: [], current: null, request: null };
const SPEAKER_COLOURS = 8; // .spk-0 … .spk-7 in style.css

function speakerClass(speakers, speaker) {
  if (!speaker) return "spk-none";
  if (!speakers.has(speaker)) speakers.set(speaker, speakers.size % SPEAKER_COLOURS);
  return `spk-${speakers.get(speaker)}`;
}

async function showTranscript(mediaId) {
  const list = $("transcript");
  const item = state.media.get(mediaId);
  if (transcript.mediaId === mediaId && (transcript.lines.length || transcript.request)) return;
  const request = {};
  Object.assign(transcript, { mediaId, lines: [], current: null, request });
  list.replaceChildren();
  $("timeline").replaceChildren();
  $("transcript-status").textContent = "Loading the transcript…";
  if (item && item.status !== "ready") {
    $("transcript-status").textContent = "The transcript appears once the recording is indexed.";
    transcript.request = null; // picked again once ready, it loads
    return;
  }
  let response;
  try {
    response = await api(`/v1/media/${encodeURIComponent(mediaId)}/transcript`);
  } catch (error) { // offline, or the key was refused three times
    if (transcript.request === request) transcriptFailed(`Could not load the transcript: ${error.message}`);
    return;
  }
  if (transcript.request !== request) return;
  if (!response.ok) {
    transcriptFailed(await errorText(response));
    return;
  }
  const body = await response.json();
  if (transcript.request !== request) return;
  transcript.request = null;
  const speakers = new Map();
  for (const seg of body.segments) {
    const li = document.createElement("li");
    li.dataset.start = String(seg.start_s);
    li.dataset.end = String(seg.end_s);
    li.className = speakerClass(speakers, seg.speaker);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "line";
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = clock(seg.start_s);
    button.append(when, " ");
    if (seg.speaker) {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = seg.speaker;
      li.dataset.speaker = seg.speaker;
      button.append(who, " ");
    }
    const text = document.createElement("span");
    text.dir = "auto";
    text.textContent = seg.text;
    button.append(text);
    button.addEventListener("click", () => seekTo(mediaId, seg.start_s));
    li.append(button);
    list.append(li);
    transcript.lines.push(li);
  }
  const who = speakers.size ? `, ${speakers.size} speaker${speakers.size > 1 ? "s" : ""}` : "";
  $("transcript-status").textContent = `${body.segments.length} lines${who}.`;
  highlightLine();
}

// the line whose span holds the playing time (else the last one started)
function transcriptFailed(message) { // the next pick of the recording tries again
  transcript.request = null;
  $("transcript-status").textContent = message;
}

function highlightLine() {
  const player = $("player");
  if (player.dataset.mediaId !== transcript.mediaId || !transcript.lines.length) return;
  const t = player.currentTime;
  let found = null;
  for (const li of transcript.lines) {
    if (Number(li.dataset.start) <= t + 0.05) found = li;
    else break;
  }
  if (found === transcript.current) return;
  if (transcript.current) transcript.current.removeAttribute("aria-current");
  transcript.current = found;
  if (found) {
    found.setAttribute("aria-current", "true");
    found.scrollIntoView({ block: "nearest" });
  }
}

async function findInRecording(event) {
  event.preventDefault();
  const mediaId = transcript.mediaId;
  const query = $("find").value.trim();
  const timeline = $("timeline");
  timeline.replaceChildren();
  if (!mediaId || !query) return;
  const response = await api("/v1/search", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ query, media_ids: [mediaId], limit: 10 }),
  });
  if (!response.ok) {
    $("find-status").textContent = await errorText(response);
    return;
  }
  const { hits, speaker } = await response.json(); // speaker: whose lines, if the query named one
  const item = state.media.get(mediaId);
  const duration = (item && item.duration_s) || $("player").duration || 1;
  for (const hit of hits) {
    const mark = document.createElement("button");
    mark.type = "button";
    mark.className = "mark";
    mark.dataset.start = String(hit.start_s);
    mark.style.left = `${Math.min(100, (100 * hit.start_s) / duration)}%`; // CSSOM: CSP-safe
    const who = hit.speaker ? `${hit.speaker}: ` : "";
    mark.title = `${clock(hit.start_s)} ${who}${hit.text}`;
    mark.setAttribute("aria-label", `Hit at ${clock(hit.start_s)}: ${who}${hit.text}`);
    mark.addEventListener("click", () => seekTo(mediaId, hit.start_s));
    timeline.append(mark);
  }
  const found = hits.length ? `${hits.length} hits` : "No hits";
  $("find-status").textContent = speaker ? `${found} in ${speaker}'s lines.` : `${found}.`;
}

const baseLoadMedia = loadMedia;
// eslint-disable-next-line no-global-assign
loadMedia = function (mediaId) { // every way to pick a recording shows its transcript
  baseLoadMedia(mediaId);
  showTranscript(mediaId);
};
$("player").addEventListener("timeupdate", highlightLine);
$("player").addEventListener("seeked", highlightLine);
$("find-form").addEventListener("submit", findInRecording);
