"""The languages ChronoRAG speaks: one table, and which of them a question is written in.

:data:`LANGUAGES` holds one row per language with everything a module needs to know
about it: its English name (prompts say "Answer in Tamil"), its Unicode script, the
agent's refusal and extractive lead-ins, and the words a spoken answer uses for times.
Every per-language value elsewhere is derived from this table, so adding a language
is adding a row. Rows without a refusal are spoken only (a TTS voice reads their
times in words), not recognised in questions.

Detection: a script used by exactly one answered language decides directly (Tamil,
Telugu, Kannada, Malayalam, Gujarati, Gurmukhi → Punjabi, Bengali, Latin → English):
that is exact, and lingua has no Kannada or Malayalam model. A script shared by
several (Devanagari: Hindi, Marathi) goes to the lingua detector over just those;
romanised Hindi ("kya hua") is not reliably identifiable and is answered in English.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from vectorstore.sparse import char_script


@dataclass(frozen=True)
class TimeWords:
    """How a spoken answer says a media time: unit words and the "at <time>" form."""

    hour: str
    hours: str
    minute: str
    minutes: str
    second: str
    seconds: str
    at: str = "{t}"  # "at {t}" / "{t} पर"; most languages need no word
    in_title: str = "{title}"  # "in {title}", said before the time when titles differ


@dataclass(frozen=True)
class LanguageInfo:
    code: str  # ISO 639-1
    name: str  # English name, as the prompts write it
    script: str  # Unicode script: first word of its characters' names ("TAMIL")
    time_words: TimeWords
    refusal: str | None = None  # None: spoken only, questions in it are not answered
    said: str = ""  # extractive lead-in before a quoted line of speech
    shown: str = ""  # … before quoted on-screen text
    # how a question refers to a meeting's people by role ("the project manager"): head
    # nouns (non-Latin ones match inflected forms by prefix: டிசைனருக்கு) and the words
    # that stand before a head as part of the role where stop words are not known (English
    # takes any content word there)
    role_nouns: tuple[str, ...] = ()
    role_modifiers: tuple[str, ...] = ()
    name_words: tuple[str, ...] = ()  # "name": a role followed by it asks who they are
    # the English word each role word stands for ("मैनेजर" → manager), so a Hindi question
    # about "the project manager" finds the speaker proposed as one (graphs.speakers);
    # non-Latin words match inflected forms too ("நிபுணரின்", the expert's)
    role_english: tuple[tuple[str, str], ...] = ()
    # a question with a broad word asks about a stretch of talk, not a line ("summarize the
    # discussion about …"); it and the frame words are left out of its search focus
    # (vectorstore.focus). Measured on English questions only (QMSum), so only English has them
    broad_words: tuple[str, ...] = ()
    frame_words: tuple[str, ...] = ()

    @property
    def answered(self) -> bool:
        return self.refusal is not None


LANGUAGES: tuple[LanguageInfo, ...] = (
    LanguageInfo(
        "en", "English", "LATIN",
        TimeWords("hour", "hours", "minute", "minutes", "second", "seconds",
                  at="at {t}", in_title="in {title}"),
        refusal="I could not find it in the indexed media.",
        said="The recording says:", shown="The screen shows:",
        role_nouns=("manager", "designer", "expert", "engineer", "developer", "lead",
                    "director", "chair", "chairman", "chairperson", "secretary", "analyst",
                    "consultant", "officer", "presenter", "host", "moderator", "facilitator",
                    "researcher", "architect", "owner", "specialist", "coordinator",
                    "administrator", "person", "guy", "ceo", "cto", "cfo", "pm"),
        name_words=("name", "names", "called"),
        broad_words=("summarize", "summarise", "summary", "discussion", "discussions",
                     "discuss", "discussed", "discussing", "think", "thinks", "thought",
                     "opinion", "opinions", "attitude"),
        frame_words=("group", "propose", "proposed", "agree", "agreed", "disagree",
                     "disagreed", "towards", "toward", "regard", "view", "views", "talk",
                     "talked", "say", "said", "whole", "meeting", "meetings", "video",
                     "recording"),
    ),
    LanguageInfo(
        "hi", "Hindi", "DEVANAGARI",
        TimeWords("घंटा", "घंटे", "मिनट", "मिनट", "सेकंड", "सेकंड",
                  at="{t} पर", in_title="{title} में"),
        refusal="मुझे यह अनुक्रमित मीडिया में नहीं मिला।",
        said="रिकॉर्डिंग में कहा गया:", shown="स्क्रीन पर दिखाया गया:",
        role_nouns=("डिज़ाइनर", "डिजाइनर", "मैनेजर", "एक्सपर्ट", "विशेषज्ञ", "इंजीनियर",
                    "डेवलपर", "लीडर", "डायरेक्टर", "प्रबंधक", "निदेशक", "अध्यक्ष", "सचिव",
                    "सदस्य", "प्रस्तुतकर्ता"),
        role_modifiers=("प्रोजेक्ट", "प्रॉजेक्ट", "प्रोडक्ट", "प्रॉडक्ट", "मार्केटिंग",
                        "इंडस्ट्रियल", "यूज़र", "यूजर", "इंटरफ़ेस", "इंटरफेस", "डिज़ाइन",
                        "डिजाइन", "सेल्स", "टेक्निकल", "टीम", "परियोजना", "उत्पाद", "विपणन",
                        "तकनीकी", "बिक्री", "वाले", "वाली"),
        name_words=("नाम",),
        role_english=(
            ("डिज़ाइनर", "designer"), ("डिजाइनर", "designer"), ("मैनेजर", "manager"),
            ("प्रबंधक", "manager"), ("एक्सपर्ट", "expert"), ("विशेषज्ञ", "expert"),
            ("इंजीनियर", "engineer"), ("डेवलपर", "developer"), ("लीडर", "lead"),
            ("डायरेक्टर", "director"), ("निदेशक", "director"), ("अध्यक्ष", "chair"),
            ("सचिव", "secretary"), ("सदस्य", "member"), ("प्रस्तुतकर्ता", "presenter"),
            ("प्रोजेक्ट", "project"), ("प्रॉजेक्ट", "project"), ("परियोजना", "project"),
            ("प्रोडक्ट", "product"), ("प्रॉडक्ट", "product"), ("उत्पाद", "product"),
            ("मार्केटिंग", "marketing"), ("विपणन", "marketing"), ("इंडस्ट्रियल", "industrial"),
            ("यूज़र", "user"), ("यूजर", "user"), ("इंटरफ़ेस", "interface"),
            ("इंटरफेस", "interface"), ("डिज़ाइन", "design"), ("डिजाइन", "design"),
            ("सेल्स", "sales"), ("बिक्री", "sales"), ("टेक्निकल", "technical"),
            ("तकनीकी", "technical"), ("टीम", "team"),
        ),
    ),
    LanguageInfo(
        "ta", "Tamil", "TAMIL",
        TimeWords("மணி", "மணி", "நிமிடம்", "நிமிடம்", "வினாடி", "வினாடி"),
        refusal="அட்டவணைப்படுத்தப்பட்ட மீடியாவில் இதை என்னால் கண்டுபிடிக்க முடியவில்லை.",
        said="பதிவில் சொல்லப்படுவது:", shown="திரையில் காட்டப்பட்டது:",
        role_nouns=("டிசைனர்", "டிஸைனர்", "மேனேஜர்", "நிபுணர்", "எக்ஸ்பர்ட்", "உறுப்பினர்",
                    "இன்ஜினியர்", "பொறியாளர்", "டெவலப்பர்", "லீடர்", "மேலாளர்", "தலைவர்",
                    "இயக்குநர்", "செயலாளர்"),
        role_modifiers=("ப்ராஜெக்ட்", "புராஜெக்ட்", "ப்ரொடக்ட்", "புராடக்ட்", "மார்க்கெட்டிங்",
                        "மார்கெட்டிங்", "இண்டஸ்ட்ரியல்", "இன்டஸ்ட்ரியல்", "யூசர்", "யூஸர்",
                        "இன்டர்ஃபேஸ்", "இண்டர்ஃபேஸ்", "இன்டர்பேஸ்", "டிசைன்", "சேல்ஸ்",
                        "டெக்னிக்கல்", "டீம்", "திட்ட", "தயாரிப்பு", "சந்தைப்படுத்தல்",
                        "விற்பனை"),
        name_words=("பெயர்", "பெயரென்ன"),
        role_english=(
            ("டிசைனர்", "designer"), ("டிஸைனர்", "designer"), ("மேனேஜர்", "manager"),
            ("மேலாளர்", "manager"), ("நிபுணர்", "expert"), ("எக்ஸ்பர்ட்", "expert"),
            ("உறுப்பினர்", "member"), ("இன்ஜினியர்", "engineer"), ("பொறியாளர்", "engineer"),
            ("டெவலப்பர்", "developer"), ("லீடர்", "lead"), ("தலைவர்", "chair"),
            ("இயக்குநர்", "director"), ("செயலாளர்", "secretary"), ("ப்ராஜெக்ட்", "project"),
            ("புராஜெக்ட்", "project"), ("திட்ட", "project"), ("ப்ரொடக்ட்", "product"),
            ("புராடக்ட்", "product"), ("தயாரிப்பு", "product"), ("மார்க்கெட்டிங்", "marketing"),
            ("மார்கெட்டிங்", "marketing"), ("சந்தைப்படுத்தல்", "marketing"),
            ("இண்டஸ்ட்ரியல்", "industrial"), ("இன்டஸ்ட்ரியல்", "industrial"), ("யூசர்", "user"),
            ("யூஸர்", "user"), ("இன்டர்ஃபேஸ்", "interface"), ("இண்டர்ஃபேஸ்", "interface"),
            ("இன்டர்பேஸ்", "interface"), ("டிசைன்", "design"), ("சேல்ஸ்", "sales"),
            ("விற்பனை", "sales"), ("டெக்னிக்கல்", "technical"), ("டீம்", "team"),
        ),
    ),
    LanguageInfo(
        "te", "Telugu", "TELUGU",
        TimeWords("గంట", "గంటలు", "నిమిషం", "నిమిషాలు", "సెకను", "సెకన్లు"),
        refusal="సూచిక చేసిన మీడియాలో ఇది నాకు కనిపించలేదు.",
        said="రికార్డింగ్‌లో చెప్పినది:", shown="తెరపై చూపినది:",
    ),
    LanguageInfo(
        "bn", "Bengali", "BENGALI",
        TimeWords("ঘণ্টা", "ঘণ্টা", "মিনিট", "মিনিট", "সেকেন্ড", "সেকেন্ড"),
        refusal="সূচিবদ্ধ মিডিয়াতে আমি এটি খুঁজে পাইনি।",
        said="রেকর্ডিংয়ে বলা হয়েছে:", shown="পর্দায় দেখানো হয়েছে:",
    ),
    LanguageInfo(
        "mr", "Marathi", "DEVANAGARI",
        TimeWords("तास", "तास", "मिनिट", "मिनिटे", "सेकंद", "सेकंद"),
        refusal="अनुक्रमित माध्यमांमध्ये मला हे सापडले नाही.",
        said="रेकॉर्डिंगमध्ये सांगितले आहे:", shown="स्क्रीनवर दाखवले आहे:",
    ),
    LanguageInfo(
        "gu", "Gujarati", "GUJARATI",
        TimeWords("કલાક", "કલાક", "મિનિટ", "મિનિટ", "સેકન્ડ", "સેકન્ડ"),
        refusal="અનુક્રમિત મીડિયામાં મને આ મળ્યું નહીં.",
        said="રેકોર્ડિંગમાં કહેવાયું છે:", shown="સ્ક્રીન પર બતાવાયું છે:",
    ),
    LanguageInfo(
        "kn", "Kannada", "KANNADA",
        TimeWords("ಗಂಟೆ", "ಗಂಟೆ", "ನಿಮಿಷ", "ನಿಮಿಷ", "ಸೆಕೆಂಡು", "ಸೆಕೆಂಡು"),
        refusal="ಸೂಚಿತ ಮಾಧ್ಯಮದಲ್ಲಿ ನನಗೆ ಇದು ಸಿಗಲಿಲ್ಲ.",
        said="ರೆಕಾರ್ಡಿಂಗ್‌ನಲ್ಲಿ ಹೇಳಿರುವುದು:", shown="ಪರದೆಯ ಮೇಲೆ ತೋರಿಸಿರುವುದು:",
    ),
    LanguageInfo(
        "ml", "Malayalam", "MALAYALAM",
        TimeWords("മണിക്കൂർ", "മണിക്കൂർ", "മിനിറ്റ്", "മിനിറ്റ്", "സെക്കൻഡ്", "സെക്കൻഡ്"),
        refusal="സൂചികയിലുള്ള മീഡിയയിൽ എനിക്ക് ഇത് കണ്ടെത്താനായില്ല.",
        said="റെക്കോർഡിംഗിൽ പറയുന്നത്:", shown="സ്ക്രീനിൽ കാണിച്ചത്:",
    ),
    LanguageInfo(
        "pa", "Punjabi", "GURMUKHI",
        TimeWords("ਘੰਟਾ", "ਘੰਟੇ", "ਮਿੰਟ", "ਮਿੰਟ", "ਸਕਿੰਟ", "ਸਕਿੰਟ"),
        refusal="ਮੈਨੂੰ ਇਹ ਸੂਚੀਬੱਧ ਮੀਡੀਆ ਵਿੱਚ ਨਹੀਂ ਮਿਲਿਆ।",
        said="ਰਿਕਾਰਡਿੰਗ ਵਿੱਚ ਕਿਹਾ ਗਿਆ:", shown="ਸਕ੍ਰੀਨ 'ਤੇ ਦਿਖਾਇਆ ਗਿਆ:",
    ),
    # spoken only: eSpeak NG and num2words have them, the agent does not answer in them
    LanguageInfo(
        "ne", "Nepali", "DEVANAGARI",
        TimeWords("घण्टा", "घण्टा", "मिनेट", "मिनेट", "सेकेन्ड", "सेकेन्ड"),
    ),
    LanguageInfo(
        "or", "Odia", "ORIYA",
        TimeWords("ଘଣ୍ଟା", "ଘଣ୍ଟା", "ମିନିଟ", "ମିନିଟ", "ସେକେଣ୍ଡ", "ସେକେଣ୍ଡ"),
    ),
)  # fmt: skip

BY_CODE: dict[str, LanguageInfo] = {lang.code: lang for lang in LANGUAGES}
ANSWERED: tuple[LanguageInfo, ...] = tuple(lang for lang in LANGUAGES if lang.answered)
SUPPORTED: tuple[str, ...] = tuple(lang.code for lang in ANSWERED)  # questions answered in
NAMES: dict[str, str] = {lang.code: lang.name for lang in LANGUAGES}
REFUSALS: dict[str, str] = {lang.code: lang.refusal for lang in ANSWERED if lang.refusal}
# every language's words marking a broad question, and those that only frame one
# (vectorstore.focus.QueryFocus takes both)
BROAD_WORDS: tuple[str, ...] = tuple(w for lang in LANGUAGES for w in lang.broad_words)
FRAME_WORDS: tuple[str, ...] = tuple(w for lang in LANGUAGES for w in lang.frame_words)


def _by_script() -> dict[str, tuple[str, ...]]:
    scripts: dict[str, list[str]] = {}
    for lang in ANSWERED:
        scripts.setdefault(lang.script, []).append(lang.code)
    return {script: tuple(codes) for script, codes in scripts.items()}


_SCRIPTS = _by_script()  # script → answered languages written in it (first = fallback)


@lru_cache(maxsize=8)
def _detector(codes: tuple[str, ...]) -> LanguageDetector:
    # Only the candidates the script leaves open: a two-way model is more accurate on
    # short questions than one over every language.
    return LanguageDetectorBuilder.from_languages(*(_lingua(code) for code in codes)).build()


def _lingua(code: str) -> Language:
    return Language.from_str(NAMES[code])


def _script_counts(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha() or unicodedata.category(ch) in ("Mn", "Mc"):
            counts[char_script(ch)] += 1
    return counts


def detect_language(text: str, default: str = "en") -> str:
    """ISO 639-1 code of ``text`` among :data:`SUPPORTED`; ``default`` if undecidable."""
    counts = _script_counts(text)
    if not counts:
        return default
    script, _ = counts.most_common(1)[0]
    codes = _SCRIPTS.get(script)
    if not codes:
        return default
    if len(codes) == 1:
        return codes[0]
    found = _detector(codes).detect_language_of(text)
    by_name = {_lingua(code): code for code in codes}
    return by_name.get(found, codes[0]) if found is not None else codes[0]
