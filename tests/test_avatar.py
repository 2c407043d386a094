"""Built-in avatar: a real MP4 whose mouth moves with real (eSpeak NG) speech."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from speech.audio import Audio, read_wav, write_wav
from speech.avatar import Avatar, AvatarError, stream_durations
from speech.cv_avatar import CvAvatar, blink_track
from speech.espeak_tts import EspeakTTS
from speech.face import Portrait
from speech.mouth import frame_rms_db, mouth_track
from speech.speaker import Speaker

ANSWER = (
    "The team approved the budget. After a long pause, Alice asked for a review. "
    "Then everyone left the room, and the meeting ended."
)


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory) -> Path:
    speaker = Speaker(EspeakTTS(), pause_s=0.6)  # long pauses: the mouth must close in them
    return speaker.speak(ANSWER, "en", tmp_path_factory.mktemp("speech")).audio_path


@pytest.fixture(scope="module")
def rendered(speech_wav, tmp_path_factory) -> tuple[Path, CvAvatar]:
    avatar = CvAvatar()
    out = tmp_path_factory.mktemp("video") / "answer.mp4"
    assert avatar.render(speech_wav, out) == out
    return out, avatar


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]


def mouth_inside_pixels(frame: np.ndarray, centre: tuple[int, int]) -> int:
    """Pixels of the dark-red open-mouth colour near the mouth (head motion included)."""
    x, y = centre
    roi = frame[y - 22 : y + 24, x - 30 : x + 30].astype(int)
    b, g, r = roi[..., 0], roi[..., 1], roi[..., 2]
    return int(((r < 120) & (g < 75) & (b < 105) & (r > g + 15)).sum())


def test_mp4_has_video_and_audio_of_equal_length(rendered, speech_wav):
    path, _ = rendered
    durations = stream_durations(path)
    audio_s = read_wav(speech_wav).duration_s
    assert set(durations) == {"video", "audio"}
    assert abs(durations["video"] - durations["audio"]) <= 0.2
    assert abs(durations["video"] - audio_s) <= 0.2
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height,r_frame_rate,codec_name", "-of", "json", str(path)],
        capture_output=True, check=True,
    )  # fmt: skip
    stream = json.loads(probe.stdout)["streams"][0]
    assert (stream["width"], stream["height"], stream["r_frame_rate"]) == (256, 256, "25/1")
    assert stream["codec_name"] == "h264"


def test_mouth_opening_in_frames_follows_speech_energy(rendered, speech_wav):
    path, avatar = rendered
    frames = decoded_frames(path)
    opening = np.array([mouth_inside_pixels(f, avatar.portrait.layout.mouth) for f in frames])
    energy = np.maximum(frame_rms_db(read_wav(speech_wav), 25), -60.0)
    n = min(len(opening), len(energy))
    assert abs(len(opening) - len(energy)) <= 1
    correlation = float(np.corrcoef(opening[:n], energy[:n])[0, 1])
    assert correlation > 0.6, correlation
    assert (opening == 0).mean() > 0.1  # closed in the pauses
    assert opening.max() > 200  # and wide open somewhere


def test_eyes_blink_and_head_moves(rendered):
    path, avatar = rendered
    frames = decoded_frames(path)
    (lx, ly), _ = avatar.portrait.layout.eyes
    white = np.array(
        [(f[ly - 6 : ly + 7, lx - 14 : lx + 15] > 200).all(axis=2).sum() for f in frames]
    )
    assert white.min() < 0.3 * np.median(white)  # at least one blink
    assert (white > 0.7 * np.median(white)).mean() > 0.8  # eyes mostly open
    hair_y = []
    for f in frames:
        ys, _ = np.nonzero((f[:, :, 2] < 80) & (f[:, :, 0] < 80) & (np.arange(256)[:, None] < 120))
        hair_y.append(ys.mean())
    assert np.ptp(hair_y) > 1.5  # the head nods / sways


def test_blinks_are_brief_and_spaced():
    closed = blink_track(25 * 30, 25, seed=3) > 0.9
    starts = np.flatnonzero(closed[1:] & ~closed[:-1])
    assert 5 <= len(starts) <= 16 and np.diff(starts).min() >= 2 * 25 - 5
    assert closed.mean() < 0.1


def test_silence_keeps_the_mouth_shut():
    track = mouth_track(Audio.silence(2.0, 16000), 25)
    assert len(track) == 50 and track.open.max() == 0.0


def test_custom_portrait_image(speech_wav, tmp_path):
    face = cv2.resize(Portrait.default().image, (360, 360))
    photo = cv2.copyMakeBorder(face, 60, 40, 100, 80, cv2.BORDER_REPLICATE)
    cv2.imwrite(str(tmp_path / "me.jpg"), photo)
    avatar = CvAvatar(tmp_path / "me.jpg")
    assert isinstance(avatar, Avatar) and avatar.portrait.image.shape == (256, 256, 3)
    out = avatar.render(speech_wav, tmp_path / "me.mp4")
    frames = decoded_frames(out)
    x, y = avatar.portrait.layout.mouth
    patches = np.stack([f[y - 10 : y + 10, x - 20 : x + 20].astype(float) for f in frames])
    assert patches.std(axis=0).mean() > 5  # the mouth area is animated
    with pytest.raises(ValueError, match="cannot read portrait"):
        CvAvatar(tmp_path / "missing.png")


def test_speaker_renders_hindi_avatar(tmp_path):
    speaker = Speaker(EspeakTTS(), CvAvatar())
    result = speaker.speak("बजट मंज़ूर हुआ [बैठक @ 02:05]।", "hi", tmp_path, avatar=True)
    assert result.video_path is not None and result.video_path.suffix == ".mp4"
    assert result.video_path.stem == result.audio_path.stem
    assert set(stream_durations(result.video_path)) == {"video", "audio"}


def test_bad_audio_is_a_clear_error_and_leaves_nothing(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav at all")
    with pytest.raises(AvatarError, match="cannot read speech audio"):
        CvAvatar().render(bad, tmp_path / "out.mp4")
    empty = write_wav(Audio(np.zeros(0, np.int16), 16000), tmp_path / "empty.wav")
    with pytest.raises(AvatarError, match="empty"):
        CvAvatar().render(empty, tmp_path / "out.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.wav", "empty.wav"]
