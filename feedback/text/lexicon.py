"""The rule layer: sentiment words with a valence, negation, intensifiers, contrast and emoji, in English
and Chinese. Its scores are both features of the linear models and a guard for short clauses.

English valences are the VADER lexicon (MIT, data/SOURCES.md); the Chinese lexicon below is this
project's own list of customer-experience words."""

from __future__ import annotations

import gzip
import math
import re
from functools import lru_cache

from .corpora import DATA
from .features import EN_NEGATORS

EN_BOOSTERS = {
    "very": 0.3,
    "really": 0.3,
    "so": 0.25,
    "extremely": 0.4,
    "super": 0.3,
    "totally": 0.3,
    "absolutely": 0.4,
    "incredibly": 0.4,
    "too": 0.25,
    "quite": 0.15,
    "pretty": 0.15,
    "most": 0.25,
    "highly": 0.3,
    "completely": 0.35,
    "utterly": 0.4,
    "slightly": -0.3,
    "somewhat": -0.25,
    "barely": -0.4,
    "kinda": -0.25,
    "little": -0.2,
    "bit": -0.2,
}
ZH_BOOSTERS = {
    "非常": 0.4,
    "特别": 0.4,
    "十分": 0.4,
    "极其": 0.5,
    "超级": 0.4,
    "超": 0.3,
    "太": 0.35,
    "很": 0.25,
    "挺": 0.15,
    "真": 0.2,
    "好": 0.1,
    "相当": 0.3,
    "最": 0.35,
    "更": 0.2,
    "有点": -0.3,
    "有些": -0.3,
    "稍微": -0.35,
    "略": -0.3,
    "比较": -0.1,
}
ZH_NEGATORS = ("没有", "不是", "不太", "不够", "并不", "不", "没", "别", "无", "未", "毫无")

# Valence on VADER's -4..4 scale.
ZH_LEXICON: dict[str, float] = {
    # positive
    "好": 1.9, "很好": 2.4, "好用": 2.2, "好吃": 2.4, "好喝": 2.3, "好看": 2.0, "不错": 2.0, "满意": 2.4,
    "喜欢": 2.2, "爱": 2.4, "棒": 2.6, "赞": 2.4, "优秀": 2.6, "完美": 3.0, "惊喜": 2.6, "推荐": 1.8,
    "快": 1.3, "迅速": 1.8, "及时": 1.8, "准时": 1.8, "神速": 2.4, "方便": 2.0, "便捷": 2.0, "简单": 1.2,
    "划算": 2.0, "实惠": 2.0, "便宜": 1.4, "值": 1.6, "物美价廉": 2.6, "性价比高": 2.4, "超值": 2.4,
    "热情": 2.2, "耐心": 2.2, "专业": 2.0, "礼貌": 2.0, "周到": 2.2, "贴心": 2.4, "细心": 2.0, "负责": 1.8,
    "友好": 2.2, "客气": 1.6, "亲切": 2.2, "温暖": 2.0, "感谢": 2.0, "谢谢": 1.6, "辛苦": 0.8, "给力": 2.4,
    "靠谱": 2.2, "放心": 2.0, "干净": 1.8, "新鲜": 1.8, "正宗": 1.8, "美味": 2.6, "可口": 2.2, "舒服": 2.0,
    "舒适": 2.0, "流畅": 2.0, "稳定": 1.6, "清晰": 1.6, "精致": 2.0, "结实": 1.6, "耐用": 2.0, "漂亮": 2.2,
    "高效": 2.2, "顺利": 2.0, "顺畅": 2.0, "开心": 2.4, "愉快": 2.4, "高兴": 2.4, "好评": 2.6, "五星": 2.6,
    "解决": 1.2, "省心": 2.2, "完好": 1.8, "合适": 1.6, "正品": 1.6, "一流": 2.6, "优质": 2.4, "点赞": 2.4,
    "没问题": 1.6, "没有问题": 1.6, "没毛病": 1.8, "OK": 1.2,
    # negative
    "差": -2.4, "很差": -2.8, "太差": -3.0, "差劲": -2.8, "差评": -2.8, "糟糕": -2.8, "烂": -2.6,
    "垃圾": -3.0, "失望": -2.6, "不满": -2.4, "不满意": -2.6, "生气": -2.6, "愤怒": -3.0, "恶心": -2.8,
    "难吃": -2.8, "难喝": -2.6, "难用": -2.6, "难看": -2.0, "坏": -2.2, "坏了": -2.4, "破": -1.8,
    "破损": -2.4, "损坏": -2.4, "碎": -1.8, "漏": -1.6, "脏": -2.2, "臭": -2.2, "过期": -2.4, "假货": -3.0,
    "慢": -1.8, "太慢": -2.4, "很慢": -2.2, "迟": -1.4, "延迟": -1.8, "晚": -1.0, "超时": -2.0, "拖": -1.4,
    "贵": -1.6, "太贵": -2.2, "坑": -2.6, "坑人": -2.8, "骗": -2.8, "骗人": -3.0, "欺骗": -3.0, "乱收费": -2.8,
    "麻烦": -1.6, "复杂": -1.2, "卡": -1.4, "卡顿": -2.0, "闪退": -2.4, "崩溃": -2.6, "bug": -1.8,
    "错": -1.6, "错误": -1.8, "少": -0.8, "缺": -1.4, "丢": -1.8, "丢失": -2.2, "投诉": -2.2, "退货": -1.2,
    "退款": -0.8, "态度差": -2.8, "冷淡": -2.0, "敷衍": -2.4, "推诿": -2.4, "粗鲁": -2.6, "不耐烦": -2.4,
    "无语": -2.2, "郁闷": -2.2, "后悔": -2.4, "不值": -2.2, "浪费": -2.2, "问题": -1.2, "毛病": -1.6,
    "故障": -2.0, "等了": -0.8, "排队": -0.8, "凉了": -1.6, "洒": -1.8, "撒": -1.4, "不好": -2.0,
    "一般": -0.6, "凑合": -0.8, "不行": -2.0, "不能": -0.6, "有待": -0.8, "再也不": -2.6, "退钱": -2.0,
    "太少": -1.8, "变质": -2.8, "异味": -2.2, "粗糙": -2.0, "敷衍了事": -2.6, "忽悠": -2.6,
}  # fmt: skip

EMOJI: dict[str, float] = {
    "😀": 2.0, "😁": 2.0, "😂": 1.2, "😃": 2.0, "😄": 2.0, "😊": 2.2, "😍": 2.8, "🥰": 2.8, "😘": 2.2,
    "🙂": 1.4, "😎": 1.6, "👍": 2.2, "👏": 2.2, "❤": 2.6, "💯": 2.4, "🎉": 2.2, "🌟": 2.0, "⭐": 1.6,
    "😞": -2.0, "😔": -1.8, "😢": -2.2, "😭": -2.4, "😡": -3.0, "😠": -2.8, "🤬": -3.2, "👎": -2.4,
    "💔": -2.4, "😤": -2.2, "😒": -1.8, "🙄": -1.6, "😩": -2.2, "😫": -2.2, "🤮": -3.0, "😰": -1.8,
    ":)": 1.8, ":-)": 1.8, ":(": -1.8, ":-(": -1.8,
}  # fmt: skip

EN_CONTRAST = ("but", "however", "yet", "though", "although")
ZH_CONTRAST_AFTER = ("但是", "可是", "不过", "然而", "但", "就是", "只是", "却")
ZH_CONTRAST_BEFORE = ("虽然", "尽管", "虽说")


@lru_cache(maxsize=1)
def en_lexicon() -> dict[str, float]:
    lexicon: dict[str, float] = {}
    with gzip.open(DATA / "en_vader_lexicon.tsv.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            word, _, value = line.rstrip("\n").partition("\t")
            if value:
                lexicon[word] = float(value)
    # Words whose VADER valence misleads in customer comments.
    lexicon.update(
        {
            "no": 0.0,
            "problem": -1.2,
            "problems": -1.4,
            "issue": -1.0,
            "issues": -1.2,
            "fast": 1.6,
            "quick": 1.6,
            "quickly": 1.4,
            "prompt": 1.4,
            "promptly": 1.6,
            "speedy": 1.6,
            "slow": -1.6,
            "slowly": -1.2,
            "late": -1.6,
            "delayed": -1.8,
            "delay": -1.6,
            "broken": -2.2,
            "broke": -1.8,
            "damaged": -2.2,
            "defective": -2.4,
            "crash": -2.0,
            "crashes": -2.2,
            "crashing": -2.2,
            "crashed": -2.0,
            "freezes": -1.8,
            "buggy": -2.0,
            "expensive": -1.4,
            "overpriced": -2.2,
            "overcharged": -2.4,
            "rude": -2.6,
            "unhelpful": -2.2,
            "refund": -0.4,
            "missing": -1.4,
            "wrong": -1.6,
            "waited": -0.8,
            "waiting": -0.6,
            "cold": -0.6,
            "smooth": 1.6,
            "easy": 1.8,
            "seamless": 1.8,
            "affordable": 1.6,
            "reliable": 1.8,
            "recommend": 1.8,
        }
    )
    return lexicon


_ZH_WORDS = re.compile(
    "|".join(re.escape(word) for word in sorted(list(ZH_LEXICON) + list(EMOJI), key=len, reverse=True)), re.I
)
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|:-?[()]|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_ALPHA = 15.0
# "can't wait" is eagerness, not a negated wait.
_EN_IDIOMS = re.compile(r"\b(?:can|ca)\s*not\s+wait\b|\bcouldn't\s+wait\b")


def _normalise(total: float) -> float:
    return total / math.sqrt(total * total + _ALPHA)


def en_rule(text: str) -> tuple[float, float, float]:
    """(compound in [-1, 1], positive mass, negative mass) of an English text, VADER-style."""
    lexicon = en_lexicon()
    lowered = _EN_IDIOMS.sub("eager", text.lower().replace("n't", " not"))
    tokens = _EN_TOKEN.findall(lowered)
    values: list[float] = []
    contrast_at = -1
    for index, token in enumerate(tokens):
        if token in EN_CONTRAST and token != "though":
            contrast_at = index
        valence = EMOJI.get(token) if token in EMOJI else lexicon.get(token)
        if not valence:
            values.append(0.0)
            continue
        for distance in (1, 2, 3):
            if index - distance < 0:
                break
            before = tokens[index - distance]
            boost = EN_BOOSTERS.get(before)
            if boost and distance == 1:
                valence += boost * (1 if valence > 0 else -1) * 2
            if before in EN_NEGATORS:
                valence *= -0.74
                break
        values.append(valence)
    if contrast_at >= 0:
        values = [v * (0.5 if i < contrast_at else 1.5) for i, v in enumerate(values)]
    return _summarise(values, text)


def zh_rule(text: str) -> tuple[float, float, float]:
    values: list[float] = []
    contrast_at = -1
    for marker in ZH_CONTRAST_AFTER:
        position = text.find(marker)
        if position > 0:
            contrast_at = position if contrast_at < 0 else min(contrast_at, position)
    for match in _ZH_WORDS.finditer(text):
        word = match.group()
        valence = EMOJI.get(word) or ZH_LEXICON.get(word) or ZH_LEXICON.get(word.upper(), 0.0)
        before = text[max(0, match.start() - 4) : match.start()]
        for booster, boost in ZH_BOOSTERS.items():
            if before.endswith(booster):
                valence += boost * (1 if valence > 0 else -1) * 2
                break
        if word not in ("没问题", "没有问题", "没毛病", "不好", "不满", "不满意", "不值", "不行", "再也不"):
            tail = before[-3:]
            if any(negator in tail for negator in ZH_NEGATORS):
                valence *= -0.74
        if contrast_at >= 0:
            valence *= 0.5 if match.start() < contrast_at else 1.5
        values.append(valence)
    return _summarise(values, text)


def _summarise(values: list[float], text: str) -> tuple[float, float, float]:
    positive = sum(v for v in values if v > 0)
    negative = -sum(v for v in values if v < 0)
    total = positive - negative
    exclaim = min(text.count("!") + text.count("！"), 4) * 0.292
    if total:
        total += exclaim if total > 0 else -exclaim
    return _normalise(total), _normalise(positive), _normalise(negative)


def rule(text: str, language: str) -> tuple[float, float, float]:
    return zh_rule(text) if language == "zh" else en_rule(text)
