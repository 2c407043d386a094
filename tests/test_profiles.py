"""Model serving profiles: coverage of the seed, vLLM arguments, and mapping onto Settings."""

from __future__ import annotations

import argparse
import json

import pytest

from app.config import Settings
from app.profiles import (
    PROFILES,
    ProfileError,
    apply_profiles,
    get_profile,
    parse_profiles,
    profiles_for,
)

SEED_MODELS = {
    "Qwen/Qwen2.5-7B-Instruct",
    "meta-llama/Llama-3.1-8B-Instruct",
    "mistralai/Mistral-7B-Instruct-v0.2",
    "microsoft/phi-2",
    "google/gemma-7b-it",
    "openbmb/MiniCPM-2B-sft-bf16",
    "llava-hf/llava-1.5-7b-hf",
    "llava-hf/llava-v1.6-mistral-7b-hf",
    "llava-hf/llama3-llava-next-8b-hf",
    "Qwen/Qwen2.5-VL-7B-Instruct",
    "openbmb/MiniCPM-V-4_5",
    "openai/whisper-large-v3",
    "microsoft/speecht5_tts",
}
CPU_STAND_INS = {
    "qwen2.5-0.5b", "qwen2.5-1.5b", "whisper-base", "whisper-tiny.en",
    "multilingual-e5-small", "piper-en", "espeak-ng",
}


def _vllm_parser() -> argparse.ArgumentParser:
    """The subset of ``vllm serve`` flags the profiles use, with vLLM's value types."""
    p = argparse.ArgumentParser(exit_on_error=False)
    p.add_argument("model")
    p.add_argument("--max-model-len", type=int, required=True)
    p.add_argument("--runner", choices=["generate", "pooling"])
    p.add_argument("--enable-auto-tool-choice", action="store_true")
    p.add_argument("--tool-call-parser")
    p.add_argument("--chat-template")
    p.add_argument("--limit-mm-per-prompt", type=json.loads)
    p.add_argument("--allowed-local-media-path")
    p.add_argument("--trust-remote-code", action="store_true")
    return p


def test_every_seed_model_and_cpu_stand_in_has_a_profile() -> None:
    assert {p.model for p in PROFILES} >= SEED_MODELS
    assert {p.name for p in PROFILES if p.cpu} >= CPU_STAND_INS
    names = [p.name for p in PROFILES]
    assert len(names) == len(set(names))


VLLM_PROFILES = [p for p in PROFILES if p.server == "vllm"]


@pytest.mark.parametrize("profile", VLLM_PROFILES, ids=lambda p: p.name)
def test_vllm_arguments_parse_and_match_capabilities(profile) -> None:
    args = _vllm_parser().parse_args(profile.serve_command())
    assert args.model == profile.model
    assert args.max_model_len > 0
    mm = args.limit_mm_per_prompt or {}
    assert (mm.get("image", 0) > 0) == ("image" in profile.capabilities)
    assert (mm.get("video", 0) > 0) == ("video" in profile.capabilities)
    assert ("tool_call" in profile.capabilities) == bool(args.enable_auto_tool_choice)
    assert bool(args.tool_call_parser) == bool(args.enable_auto_tool_choice)
    if mm:
        assert args.allowed_local_media_path == "/data"


def test_current_vllm_facts() -> None:
    assert get_profile("qwen2.5-7b-instruct").vllm.tool_call_parser == "hermes"
    llama = get_profile("llama-3.1-8b-instruct").vllm
    assert (llama.tool_call_parser, llama.chat_template) == (
        "llama3_json", "examples/tool_chat_template_llama3.1_json.jinja"
    )
    for name in ("llava-1.5-7b", "llava-v1.6-mistral-7b", "llama3-llava-next-8b"):
        profile = get_profile(name)
        assert profile.roles == ("vision",) and "video" not in profile.capabilities
    for name in ("qwen2.5-vl-7b-instruct", "minicpm-v-4.5"):
        assert {"vision", "video"} <= set(get_profile(name).roles)
    assert get_profile("minicpm-v-4.5").vllm.trust_remote_code
    whisper = get_profile("whisper-large-v3")
    assert whisper.server == "vllm" and whisper.capabilities == ("transcription",)
    assert whisper.serve_command()[:2] == ["openai/whisper-large-v3", "--max-model-len=448"]
    tts = get_profile("speecht5-tts")
    assert tts.server == "transformers"
    with pytest.raises(ProfileError, match="not vLLM"):
        tts.serve_command()
    assert "{% for m in messages %}" in get_profile("phi-2").vllm.chat_template


def test_roles_cover_every_use() -> None:
    for role in ("agent", "vision", "video", "stt", "tts", "embed"):
        gpu = [p for p in profiles_for(role) if not p.cpu]
        assert gpu, role
    assert all(p.cpu for p in profiles_for("tts") if p.server in ("piper", "espeak-ng"))


def test_apply_fills_settings_from_one_value(tmp_path) -> None:
    base = Settings(home=tmp_path)
    names = parse_profiles(" qwen2.5-7b-instruct, Qwen2.5-VL-7B-Instruct ,whisper-large-v3,,")
    assert names == ["qwen2.5-7b-instruct", "Qwen2.5-VL-7B-Instruct", "whisper-large-v3"]
    s = apply_profiles(base, names)
    assert (s.llm_model, s.llm_url, s.llm_ctx) == (
        "Qwen/Qwen2.5-7B-Instruct", "http://llm:8000/v1", 32768
    )
    assert (s.vlm_model, s.vlm_url) == ("Qwen/Qwen2.5-VL-7B-Instruct", "http://vlm:8000/v1")
    assert (s.asr_backend, s.asr_model, s.asr_url) == (
        "openai", "openai/whisper-large-v3", "http://asr:8000/v1"
    )
    assert s.home == tmp_path and s.llm_api_key.get_secret_value() == "EMPTY"
    assert base.llm_url is None  # the input is not modified
    # a later profile replaces what an earlier one filled in
    llama = apply_profiles(s, ["llama-3.1-8b-instruct"])
    assert llama.llm_model == "meta-llama/Llama-3.1-8B-Instruct"
    # the CPU stand-in goes back to the embedded model name
    assert apply_profiles(base, ["qwen2.5-1.5b"]).llm_model == "qwen2.5-1.5b"


def test_explicit_settings_win_over_a_profile(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CHRONORAG_LLM_URL", "http://gpu-box:9000/v1")
    monkeypatch.setenv("CHRONORAG_LLM_CTX", "8192")
    s = apply_profiles(Settings(home=tmp_path), ["qwen2.5-7b-instruct"])
    assert (s.llm_url, s.llm_ctx, s.llm_model) == (
        "http://gpu-box:9000/v1", 8192, "Qwen/Qwen2.5-7B-Instruct"
    )


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_each_profile_yields_valid_settings(profile, tmp_path) -> None:
    extra = {key: tmp_path / "model" for key in profile.requires}
    s = apply_profiles(Settings(home=tmp_path, **extra), [profile.name])
    for key, value in profile.settings.items():
        assert getattr(s, key) == value


def test_bad_choices_fail_clearly(tmp_path) -> None:
    base = Settings(home=tmp_path)
    with pytest.raises(ProfileError, match="unknown model profile 'gpt-5'.*qwen2.5-7b-instruct"):
        apply_profiles(base, ["gpt-5"])
    with pytest.raises(ProfileError, match="both set llm_model"):
        apply_profiles(base, ["qwen2.5-7b-instruct", "phi-2"])
    with pytest.raises(ProfileError, match="CHRONORAG_TTS_TRANSFORMERS_PATH"):
        apply_profiles(base, ["speecht5-tts"])
