"""transformers TTS loader and synthesis on tiny randomly initialised checkpoints that the
test builds and saves (no real weights can be downloaded here): VITS/MMS-style and SpeechT5."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from speech.factory import build_tts
from speech.speaker import Speaker
from speech.tts import TTSError, UnsupportedLanguageError

pytestmark = pytest.mark.slow

HINDI = "नमस्ते, यह एक परीक्षण है"


@pytest.fixture(scope="module")
def vits_dir(tmp_path_factory) -> Path:
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    folder = tmp_path_factory.mktemp("tiny-vits-hin")
    chars = sorted(set("abcdefghijklmnopqrstuvwxyz '.,?!" + HINDI))
    vocab = {"<pad>": 0, "<unk>": 1, **{c: i + 2 for i, c in enumerate(chars)}}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    tokenizer = VitsTokenizer(str(folder / "vocab.json"), phonemize=False, language="hin")
    config = VitsConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        ffn_dim=32, flow_size=16, spectrogram_bins=9, upsample_initial_channel=16,
        upsample_rates=[4, 4], upsample_kernel_sizes=[8, 8], resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1]], duration_predictor_filter_channels=16,
        prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1,
        depth_separable_num_layers=1, duration_predictor_num_flows=1, prior_encoder_num_flows=1,
        sampling_rate=16_000,
    )  # fmt: skip
    VitsModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def speecht5_dir(tmp_path_factory) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        PreTrainedTokenizerFast,
        SpeechT5Config,
        SpeechT5ForTextToSpeech,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
    )

    folder = tmp_path_factory.mktemp("tiny-speecht5")
    chars = sorted(set("abcdefghijklmnopqrstuvwxyz .,?!"))
    vocab = {"<pad>": 0, "<unk>": 1, "</s>": 2, **{c: i + 3 for i, c in enumerate(chars)}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split("", "isolated")  # one token per character
    PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", unk_token="<unk>", eos_token="</s>"
    ).save_pretrained(folder)
    config = SpeechT5Config(
        vocab_size=len(vocab), hidden_size=16, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
        decoder_ffn_dim=32, speech_decoder_prenet_units=16, speech_decoder_postnet_units=16,
        speech_decoder_postnet_layers=2, num_mel_bins=8, speaker_embedding_dim=12,
        max_text_positions=200, max_speech_positions=600, pad_token_id=0, eos_token_id=2,
        bos_token_id=2, decoder_start_token_id=2,
    )  # fmt: skip
    model = SpeechT5ForTextToSpeech(config)
    with torch.no_grad():  # a random stop head would end generation at once; make it never stop
        model.speech_decoder_postnet.prob_out.bias.fill_(-20.0)
    model.save_pretrained(folder)
    vocoder = SpeechT5HifiGanConfig(
        model_in_dim=8, upsample_initial_channel=16, upsample_rates=[4, 4],
        upsample_kernel_sizes=[8, 8], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1]],
        sampling_rate=16_000,
    )  # fmt: skip
    SpeechT5HifiGan(vocoder).save_pretrained(folder / "vocoder")
    embedding = np.random.default_rng(0).normal(size=12).astype(np.float32)
    np.save(folder / "speaker_embedding.npy", embedding)
    return folder


def test_vits_checkpoint_loads_and_speaks(vits_dir, tmp_path):
    from speech.transformers_tts import TransformersTTS

    tts = TransformersTTS(vits_dir, languages=["hi"])
    assert tts.model_type == "vits" and tts.sample_rate == 16_000
    short = tts.synthesize(HINDI, "hi")
    again = tts.synthesize(HINDI, "hi")
    long = tts.synthesize(" ".join([HINDI] * 4), "hi")
    assert short.sample_rate == 16_000 and len(short.samples) > 0
    assert np.array_equal(short.samples, again.samples)  # seeded noise → reproducible
    assert long.duration_s > short.duration_s  # duration follows the text
    with pytest.raises(UnsupportedLanguageError):
        tts.synthesize("hello", "en")
    answer = Speaker(tts).speak(HINDI + " [बैठक @ 00:05]।", "hi", tmp_path)
    assert answer.audio_path.exists() and "पाँच सेकंड पर" in answer.spoken_text


def test_vits_text_outside_vocabulary_is_a_clear_error(vits_dir):
    from speech.transformers_tts import TransformersTTS

    tts = TransformersTTS(vits_dir, languages=["hi", "ta"])
    with pytest.raises(TTSError, match="vocabulary"):
        tts.synthesize("வணக்கம்", "ta")


def test_languages_come_from_the_checkpoint_when_not_declared(vits_dir, speecht5_dir):
    from speech.transformers_tts import TransformersTTS

    assert TransformersTTS(vits_dir).languages() == {"hi"}  # tokenizer language "hin"
    assert TransformersTTS(speecht5_dir).languages() == {"en"}


def test_speecht5_checkpoint_with_vocoder_and_speaker_embedding(speecht5_dir):
    from speech.transformers_tts import TransformersTTS

    tts = TransformersTTS(speecht5_dir, languages=["en"])
    assert tts.model_type == "speecht5" and tts.sample_rate == 16_000
    short = tts.synthesize("hello there", "en")
    long = tts.synthesize("hello there, this is longer text", "en")
    assert np.isfinite(short.to_float()).all() and len(short.samples) > 0
    assert long.duration_s > short.duration_s


def test_speecht5_missing_parts_are_named(speecht5_dir, tmp_path):
    from speech.transformers_tts import TransformersTTS

    partial = tmp_path / "partial"
    shutil.copytree(speecht5_dir, partial)
    (partial / "speaker_embedding.npy").unlink()
    with pytest.raises(TTSError, match="speaker x-vector"):
        TransformersTTS(partial)
    shutil.rmtree(partial / "vocoder")
    with pytest.raises(TTSError, match="vocoder"):
        TransformersTTS(partial)


def test_non_tts_checkpoint_is_rejected(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(TTSError, match="not a supported TTS model"):
        build_tts("transformers", transformers_path=tmp_path)


def test_factory_puts_checkpoint_first_with_offline_fallbacks(vits_dir):
    tts = build_tts("transformers", transformers_path=vits_dir)
    assert [b.name for b in tts.backends] == ["transformers", "espeak"]
    assert tts.backend_for("hi").name == "transformers"
    assert tts.backend_for("ta").name == "espeak"
