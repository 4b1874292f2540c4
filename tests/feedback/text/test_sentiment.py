"""Clause-level and comment-level sentiment on constructed comments, in Chinese, English and both."""

from __future__ import annotations

import pytest

from feedback.text import Analyzer, default_taxonomy


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer(taxonomy=default_taxonomy())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("很好", "positive"),
        ("不好", "negative"),
        ("质量不好", "negative"),
        ("一点都不满意", "negative"),
        ("服务非常差", "negative"),
        ("非常满意，下次还来", "positive"),
        ("good", "positive"),
        ("not good", "negative"),
        ("not bad at all", "positive"),
        ("The staff were really rude", "negative"),
        ("Absolutely love this app", "positive"),
        ("I can't wait to order again", "positive"),
        ("好评👍", "positive"),
        ("😡😡", "negative"),
    ],
)
def test_comment_sentiment(analyzer: Analyzer, text: str, expected: str) -> None:
    result = analyzer.analyse(text)
    assert result.sentiment == expected, (text, result.score)
    assert -1.0 <= result.score <= 1.0
    assert (result.score > 0) == (expected == "positive") or expected == "neutral"


@pytest.mark.parametrize("text", ["没有问题", "没问题", "No problems at all", "no issues"])
def test_negated_problem_is_not_negative(analyzer: Analyzer, text: str) -> None:
    assert analyzer.analyse(text).sentiment != "negative"


@pytest.mark.parametrize("text", ["我昨天下的订单", "Order placed on Tuesday.", "订单号 12345"])
def test_factual_statements_are_neutral_or_mild(analyzer: Analyzer, text: str) -> None:
    result = analyzer.analyse(text)
    assert abs(result.score) < 0.5, result


def test_intensifiers_strengthen(analyzer: Analyzer) -> None:
    assert analyzer.analyse("非常好").score >= analyzer.analyse("好").score - 0.05
    assert analyzer.analyse("very good").score >= analyzer.analyse("good").score - 0.05


def test_chinese_contrast_clauses(analyzer: Analyzer) -> None:
    text = "物流很快但是东西坏了"
    result = analyzer.analyse(text)
    assert [text[c.start : c.end] for c in result.clauses] == ["物流很快", "但是东西坏了"]
    assert [c.sentiment for c in result.clauses] == ["positive", "negative"]
    assert result.sentiment == "negative"  # what follows 但是 is the point


def test_concession_then_contrast(analyzer: Analyzer) -> None:
    result = analyzer.analyse("虽然价格有点贵，但是质量很好")
    assert result.clauses[-1].sentiment == "positive"
    assert result.sentiment == "positive"
    result = analyzer.analyse("Although the price was fair, the product broke after a week")
    assert result.clauses[-1].sentiment == "negative"
    assert result.sentiment == "negative"


def test_english_but(analyzer: Analyzer) -> None:
    text = "The delivery was fast but the product arrived broken"
    result = analyzer.analyse(text)
    assert len(result.clauses) == 2
    assert result.clauses[0].sentiment == "positive"
    assert result.clauses[1].sentiment == "negative"
    assert text[result.clauses[1].start : result.clauses[1].end].startswith("but")
    assert result.sentiment == "negative"


def test_both_scripts_in_one_comment(analyzer: Analyzer) -> None:
    text = "客服态度很好, but the app keeps crashing"
    result = analyzer.analyse(text)
    assert result.language == "zh"
    assert [c.sentiment for c in result.clauses] == ["positive", "negative"]
    themes = {m.theme: m.sentiment for m in result.themes}
    assert themes["customer_service"] == "positive"
    assert themes["app_website"] == "negative"


def test_batch_equals_single(analyzer: Analyzer) -> None:
    texts = ["很好", "not good", "物流很快但是东西坏了", "", "   "]
    batch = analyzer.analyse_many(texts)
    assert [a.as_dict() for a in batch] == [analyzer.analyse(t).as_dict() for t in texts]
    assert batch[3].sentiment == "neutral" and batch[3].score == 0.0


def test_language_hint_and_detection(analyzer: Analyzer) -> None:
    assert analyzer.analyse("很好").language == "zh"
    assert analyzer.analyse("great").language == "en"
    assert analyzer.analyse("12345").language == "other"
    assert analyzer.analyse("ok", "en").language == "en"
