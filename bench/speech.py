"""Speech benchmark: TTS and avatar real-time factors on this machine.

RTF = wall-clock seconds / seconds of audio (or video) produced; < 1 is faster than
real time. Each figure is printed next to the real-time baseline (×N real time).
Also measures time to the first sentence's audio when streaming sentence by sentence.
The last line is JSON.

    .venv/bin/python bench/speech.py [--repeat 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.assets import piper_voice  # noqa: E402
from speech.audio import concat, write_wav  # noqa: E402
from speech.cv_avatar import CvAvatar  # noqa: E402
from speech.espeak_tts import EspeakTTS  # noqa: E402
from speech.piper_tts import PiperTTS  # noqa: E402
from speech.speaker import Speaker  # noqa: E402
from speech.spoken import split_sentences, to_spoken  # noqa: E402

ENGLISH = (
    "The team reviewed the quarterly numbers and approved the new budget "
    "[Weekly sync @ 02:05–02:30]. Alice asked for a review of the hiring plan before "
    "the end of March, and Bob agreed to share the draft by Friday [Weekly sync @ 14:10–14:40]. "
    "The demo of the search feature ran without problems, although the team noted that "
    "answers in Hindi and Tamil still sound robotic. Next week the group will decide "
    "whether to move the service to the new cluster."
)
HINDI = (
    "टीम ने तिमाही के आंकड़ों की समीक्षा की और नया बजट मंज़ूर किया [साप्ताहिक बैठक @ 02:05–02:30]। "
    "एलिस ने मार्च के अंत से पहले भर्ती योजना की समीक्षा माँगी। अगले हफ़्ते टीम तय करेगी कि "
    "सेवा को नए क्लस्टर पर ले जाना है या नहीं।"
)


def bench_tts(name, tts, text, language, repeat):
    sentences = split_sentences(to_spoken(text, language))
    best, audio_s = float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        audio_s = sum(tts.synthesize(s, language).duration_s for s in sentences)
        best = min(best, time.perf_counter() - start)
    speaker = Speaker(tts)
    start = time.perf_counter()
    next(iter(speaker.stream(text, language)))
    first = time.perf_counter() - start
    row = {
        "backend": name,
        "language": language,
        "audio_s": round(audio_s, 2),
        "wall_s": round(best, 3),
        "rtf": round(best / audio_s, 4),
        "x_realtime": round(audio_s / best, 1),
        "first_audio_s": round(first, 3),
    }
    print(
        f"{name:>10} [{language}]  {audio_s:6.2f} s audio in {best:6.3f} s  "
        f"RTF {row['rtf']:.3f}  = {row['x_realtime']:5.1f}x real time  "
        f"(first sentence ready after {first:.2f} s)"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    start = time.perf_counter()
    onnx, config = piper_voice()
    piper = PiperTTS(onnx, config, threads=args.threads)
    piper.synthesize("Warm up.", "en")
    load_s = time.perf_counter() - start
    print(f"piper voice load + warm-up: {load_s:.2f} s")
    espeak = EspeakTTS()

    rows = [
        bench_tts("piper", piper, ENGLISH, "en", args.repeat),
        bench_tts("espeak", espeak, ENGLISH, "en", args.repeat),
        bench_tts("espeak", espeak, HINDI, "hi", args.repeat),
    ]

    avatar = CvAvatar(threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "answer.wav"
        sentences = split_sentences(to_spoken(ENGLISH, "en"))
        audio = concat([piper.synthesize(s, "en") for s in sentences], gap_s=0.25)
        write_wav(audio, wav)
        best = float("inf")
        for i in range(args.repeat):
            t0 = time.perf_counter()
            avatar.render(wav, Path(tmp) / f"answer{i}.mp4")
            best = min(best, time.perf_counter() - t0)
    avatar_row = {
        "backend": "avatar-builtin",
        "size": 256,
        "fps": 25,
        "video_s": round(audio.duration_s, 2),
        "wall_s": round(best, 3),
        "rtf": round(best / audio.duration_s, 4),
        "x_realtime": round(audio.duration_s / best, 1),
    }
    print(
        f"    avatar [256x256 @ 25 fps]  {audio.duration_s:6.2f} s video in {best:6.3f} s  "
        f"RTF {avatar_row['rtf']:.3f}  = {avatar_row['x_realtime']:5.1f}x real time"
    )
    print(
        json.dumps(
            {
                "threads": args.threads,
                "piper_load_s": round(load_s, 2),
                "tts": rows,
                "avatar": avatar_row,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
