"""``Audio.resampled``: band-limited, length and pitch kept, the same audio at the same rate."""

from __future__ import annotations

import numpy as np
import pytest

from speech.audio import Audio


def _tone(rate: int, hz: float, seconds: float) -> Audio:
    t = np.arange(round(rate * seconds)) / rate
    return Audio((8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16), rate)


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt((samples.astype(np.float64) ** 2).mean()))


def test_a_tone_above_the_new_band_is_removed_not_folded():
    """14 kHz at 32 kHz is above 22.05 kHz's 11.025 kHz limit. Linear interpolation (what
    ``resampled`` did before) folds it to about 8 kHz at nearly full strength."""
    high = _tone(32_000, 14_000.0, 1.0)
    kept = high.resampled(22_050)
    x = np.linspace(0, len(high.samples) - 1, len(kept.samples))
    folded = np.interp(x, np.arange(len(high.samples)), high.samples.astype(np.float64))
    assert _rms(folded) > 0.3 * _rms(high.samples)
    assert _rms(kept.samples) < 0.01 * _rms(high.samples)


@pytest.mark.parametrize(("rate", "target"), [(16_000, 22_050), (32_000, 22_050),
                                              (18_081, 22_050), (22_050, 16_000)])
def test_length_and_pitch_are_kept(rate, target):
    out = _tone(rate, 440.0, 2.0).resampled(target)
    assert out.sample_rate == target
    assert out.duration_s == pytest.approx(2.0, abs=0.002)
    spectrum = np.abs(np.fft.rfft(out.samples.astype(np.float64)))
    assert np.fft.rfftfreq(len(out.samples), 1 / target)[int(np.argmax(spectrum))] == (
        pytest.approx(440.0, abs=1))
    assert _rms(out.samples) == pytest.approx(_rms(_tone(rate, 440.0, 2.0).samples), rel=0.02)


def test_same_rate_and_empty_audio():
    audio = _tone(22_050, 300.0, 0.5)
    assert audio.resampled(22_050) is audio
    empty = Audio(np.zeros(0, dtype=np.int16), 16_000).resampled(22_050)
    assert empty.sample_rate == 22_050 and len(empty.samples) == 0
