"""Features of a piece of text for the sentiment models, shared by training and analysis so they can never
drift apart: English words and word pairs with negation scope marked, Chinese character 1-3-grams with
negation scope marked, both hashed into a fixed-size vector (no vocabulary to store)."""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import FeatureHasher

N_FEATURES = 2**18

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN = re.compile(r"[A-Za-z]")
EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]")

_EN_TOKEN = re.compile(
    r"[a-z]+(?:'[a-z]+)?|[0-9]+|[!?]|:\)|:\(|:-\)|:-\(|[\U0001F300-\U0001FAFF\u2600-\u27BF]"
)
_EN_SCOPE_END = {"!", "?", "but", "however", "although", "though", "yet"}
EN_NEGATORS = frozenset(
    {
        "not",
        "no",
        "never",
        "nothing",
        "nobody",
        "none",
        "neither",
        "nor",
        "without",
        "hardly",
        "barely",
        "cannot",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "wont",
        "cant",
        "couldnt",
        "shouldnt",
        "wouldnt",
        "aint",
        "havent",
        "hasnt",
        "hadnt",
    }
)
ZH_NEGATORS = ("没有", "不是", "不太", "不够", "不", "没", "别", "无", "未", "非")
_ZH_TEXT = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[A-Za-z]+|[!?！？]|[\U0001F300-\U0001FAFF\u2600-\u27BF]"
)


def detect_language(text: str) -> str:
    cjk = len(CJK.findall(text))
    latin = len(LATIN.findall(text))
    if cjk == 0 and latin == 0:
        return "other"
    return "zh" if cjk >= latin / 4 else "en"


def en_features(text: str) -> list[str]:
    lowered = text.lower().replace("n't", " not").replace("’", "'")
    tokens = _EN_TOKEN.findall(lowered)
    out: list[str] = []
    scope = 0
    previous = "<s>"
    for token in tokens:
        if token in EN_NEGATORS:
            scope = 3
            out.append("w:not")
            out.append(f"b:{previous}_not")
            previous = "not"
            continue
        if token in _EN_SCOPE_END:
            scope = 0
        out.append(f"n:{token}" if scope else f"w:{token}")
        out.append(f"b:{previous}_{token}")
        previous = token
        if scope:
            scope -= 1
    return out


def zh_features(text: str) -> list[str]:
    out: list[str] = []
    for run in _ZH_TEXT.findall(text):
        if run[0].isascii():
            out.extend(en_features(run))
            continue
        length = len(run)
        for i in range(length):
            out.append(run[i])
            if i + 1 < length:
                out.append(run[i : i + 2])
            if i + 2 < length:
                out.append(run[i : i + 3])
        # The words right after a negator are in its scope: mark them so "不好" and "好" differ in kind.
        for negator in ZH_NEGATORS:
            start = run.find(negator)
            while start >= 0:
                scoped = run[start + len(negator) : start + len(negator) + 2]
                if scoped:
                    out.append(f"n:{scoped}")
                start = run.find(negator, start + 1)
    return out


def features(text: str, language: str) -> list[str]:
    return zh_features(text) if language == "zh" else en_features(text)


_HASHER = FeatureHasher(n_features=N_FEATURES, input_type="string", alternate_sign=False)


def hashed(feature_lists: Iterable[list[str]]) -> sparse.csr_matrix:
    matrix = _HASHER.transform(feature_lists)
    # Presence, not counts, then scaled so long and short texts weigh alike.
    matrix.data = np.ones_like(matrix.data)
    lengths = np.sqrt(np.asarray(matrix.sum(axis=1)).ravel())
    lengths[lengths == 0] = 1.0
    return sparse.diags(1.0 / lengths) @ matrix
