"""Corrections teach: an organization's layer moves its predictions toward its corrections."""

from __future__ import annotations

from feedback.text import Adaptation, Analyzer, CorrectionExample, default_taxonomy
from feedback.text.engine import measure_adaptation


def examples() -> list[CorrectionExample]:
    # In this organization "sick" and "排面" are praise; the shipped model reads "sick" as negative.
    positive_en = ["sick service", "the new menu is sick", "sick delivery guys", "sick deal today"]
    positive_zh = ["这家店很有排面", "排面十足", "服务有排面", "包装很有排面"]
    neutral = ["order 123 placed", "订单已提交", "see attached", "地址见备注"]
    return (
        [CorrectionExample(text, "en", "positive") for text in positive_en]
        + [CorrectionExample(text, "zh", "positive") for text in positive_zh]
        + [CorrectionExample(text, "en" if text.isascii() else "zh", "neutral") for text in neutral]
    )


def test_fit_moves_predictions_toward_corrections() -> None:
    taxonomy = default_taxonomy()
    shipped = Analyzer(taxonomy=taxonomy)
    layer = Adaptation.fit(examples())
    adapted = Analyzer(taxonomy=taxonomy, adaptation=layer)
    # The corrected comments now get the label the manager gave them (the shipped model disagreed).
    corrected = examples()
    assert sum(shipped.analyse(e.text).sentiment == e.sentiment for e in corrected) < len(corrected) / 2
    assert [adapted.analyse(e.text).sentiment for e in corrected] == [e.sentiment for e in corrected]
    # A comment it never saw moves the same way.
    unseen = "sick staff and sick food"
    assert adapted.analyse(unseen).score > shipped.analyse(unseen).score + 0.3
    assert adapted.analyse("排面很足").score > shipped.analyse("排面很足").score
    # Unrelated comments keep the shipped model's view.
    assert adapted.analyse("terrible, broken on arrival").sentiment == "negative"


def test_serialisation_and_version() -> None:
    layer = Adaptation.fit(examples())
    again = Adaptation.from_json(layer.to_json())
    assert again == layer
    assert again.version == layer.version != Adaptation().version
    more = Adaptation.fit(examples() + [CorrectionExample("meh", "en", "negative")])
    assert more.version != layer.version
    taxonomy = default_taxonomy()
    assert Analyzer(taxonomy=taxonomy, adaptation=layer).version != Analyzer(taxonomy=taxonomy).version
    assert Adaptation.fit([]).version == "a0"


def test_first_format_still_loads() -> None:
    layer = Adaptation.from_json('{"排面": 1.0}')
    assert layer.weights == {"w:排面": [-1.0, 0.0, 1.0]}


def test_organization_accuracy_from_corrections() -> None:
    measured = measure_adaptation(examples() * 2, folds=4)
    assert measured["examples"] == 24
    assert measured["adapted"] > measured["shipped"]
