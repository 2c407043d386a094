"""Text for the ear: what an answer sounds like when it is read aloud.

* Citations ``[Weekly sync @ 02:05–02:30]`` become "at two minutes five seconds" in
  the answer's language (the start of the cited span; the title is said only when
  the answer cites more than one title). Number words come from ``indic-num2words``:
  English, Hindi, Marathi, Nepali, Bengali, Gujarati, Punjabi, Odia, Tamil, Telugu,
  Kannada and Malayalam get words and unit names (the rows of
  :data:`graphs.language.LANGUAGES`); English and Hindi also get "at"/"पर". Times are
  read with :func:`graphs.mediatime.parse_clock`. Any other language keeps numerals as
  a clock time ("2:05"), which the voice reads in its own language.
* Markdown / HTML markup, link targets and bracket characters are dropped.
* :func:`split_sentences` cuts the result into sentences so speech can be synthesised
  (and streamed) one sentence at a time.
"""

from __future__ import annotations

import re

from num_to_words import num_to_word

from graphs.language import BY_CODE, LANGUAGES
from graphs.mediatime import CLOCK, format_time, parse_clock
from speech.tts import base_language

# One time: h:mm:ss or m:ss / mm:ss, perhaps with a fraction of a second.
_TIME = rf"{CLOCK}(?:\.\d+)?"
_CITE_PART = re.compile(
    rf"^\s*(?P<title>.*?)\s*@\s*(?P<start>{_TIME})(?:\s*(?:[–—-]+|to)\s*{_TIME})?\s*$"
)
_BRACKET = re.compile(r"\[([^\[\]]*@[^\[\]]*)\]")

WORD_LANGUAGES = frozenset(lang.code for lang in LANGUAGES)  # times spoken in words

_ABBREVIATIONS = {"e.g.", "i.e.", "mr.", "mrs.", "ms.", "dr.", "prof.", "vs.", "etc.", "st.", "no."}
_SENTENCE_END = re.compile(r"(?<=[.!?।॥])[\"'”’)]*\s+")


def say_time(seconds: int, language: str) -> str:
    """Spoken form of a media time in ``language`` (see the module docstring)."""
    lang = base_language(language)
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    row = BY_CODE.get(lang)
    if row is None:
        return format_time(seconds, pad_minutes=False)
    w = row.time_words
    words: list[str] = []
    spans = ((hours, w.hour, w.hours), (minutes, w.minute, w.minutes), (secs, w.second, w.seconds))
    for value, one, many in spans:
        if value:
            words.append(f"{num_to_word(value, lang)} {one if value == 1 else many}")
    if not words:
        words.append(f"{num_to_word(0, lang)} {w.seconds}")
    return " ".join(words)


def _at(seconds: int, language: str) -> str:
    lang = base_language(language)
    row = BY_CODE.get(lang)
    template = row.time_words.at if row else "{t}"
    return template.format(t=say_time(seconds, lang))


def _cited_titles(text: str) -> set[str]:
    titles: set[str] = set()
    for match in _BRACKET.finditer(text):
        for part in match.group(1).split(";"):
            if m := _CITE_PART.match(part):
                titles.add(m.group("title"))
    return titles


def _speak_citations(text: str, language: str) -> str:
    lang = base_language(language)
    with_title = len(_cited_titles(text)) > 1

    def replace(match: re.Match[str]) -> str:
        spoken: list[str] = []
        for part in match.group(1).split(";"):
            m = _CITE_PART.match(part)
            if m is None:
                continue
            # as the model wrote it: a wrong time is still read out, never a crash
            phrase = _at(int(parse_clock(m.group("start"), strict=False)), lang)
            title = m.group("title").strip()
            if with_title and title:
                row = BY_CODE.get(lang)
                template = row.time_words.in_title if row else "{title}"
                phrase = f"{template.format(title=title)} {phrase}"
            spoken.append(phrase)
        return ", " + ", ".join(spoken) + "," if spoken else " "

    return _BRACKET.sub(replace, text)


def _drop_markup(text: str) -> str:
    text = re.sub(r"```.*?```", " ", text, flags=re.S)  # code blocks are not read out
    text = re.sub(r"<[^>]+>", " ", text)  # HTML tags
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [label](url) → label
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"\[\d+\]", " ", text)  # footnote markers
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^\s{0,3}(#{1,6}\s+|>\s*|[-*+•]\s+|\d{1,3}[.)]\s+)", "", line).strip()
        if not line:
            continue
        if not re.search(r"[.!?।॥:;,]$", line):
            line += "."  # a bullet or heading ends like a sentence
        lines.append(line)
    text = " ".join(lines)
    text = re.sub(r"(\*\*|__|\*|`|~~)", "", text)
    text = re.sub(r"(?<!\w)_(?!\w)", " ", text)
    text = re.sub(r"[\[\](){}]", ", ", text)
    text = re.sub(r"[|#^<>]", " ", text)
    return text


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.!?।॥:;])", r"\1", text)
    text = re.sub(r",(\s*,)+", ",", text)
    text = re.sub(r",\s*([.!?।॥:;])", r"\1", text)
    text = re.sub(r"([.!?।॥:;])\s*,", r"\1", text)
    text = re.sub(r"^[\s,.;:]+", "", text)
    return text.strip()


def to_spoken(text: str, language: str) -> str:
    """The exact text that will be spoken for an answer ``text`` in ``language``."""
    return _tidy(_drop_markup(_speak_citations(text, language)))


def split_sentences(text: str) -> list[str]:
    """Split spoken text into sentences (., !, ?, the danda ।/॥), keeping abbreviations whole."""
    pieces = _SENTENCE_END.split(text.strip())
    sentences: list[str] = []
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        last_word = sentences[-1].rsplit(" ", 1)[-1].lower() if sentences else ""
        if sentences and last_word in _ABBREVIATIONS:
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
    return sentences
