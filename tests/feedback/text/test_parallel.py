"""The backfill helpers give the same results as the analyser, in input order; the model card is readable."""

from __future__ import annotations

from feedback.text import (
    Adaptation,
    Analyzer,
    CorrectionExample,
    analyse_parallel,
    analyse_parallel_chunks,
    default_taxonomy,
    model_card,
)


def test_parallel_equals_single_process() -> None:
    taxonomy = default_taxonomy()
    layer = Adaptation.fit([CorrectionExample("sick service", "en", "positive")])
    texts = ["很好", "not good", "物流很快但是东西坏了", "云鲸扫地机很好用"] * 300
    languages = ["zh", "en", None, None] * 300
    single = Analyzer(taxonomy=taxonomy, dictionary=["云鲸扫地机"], adaptation=layer).analyse_many(
        texts, languages
    )
    parallel = analyse_parallel(
        texts,
        languages,
        taxonomy=taxonomy,
        dictionary=["云鲸扫地机"],
        adaptation=layer,
        processes=2,
        chunk_size=500,
    )
    assert [a.as_dict() for a in parallel] == [a.as_dict() for a in single]
    chunks = list(analyse_parallel_chunks(texts[:10], taxonomy=taxonomy, processes=1, chunk_size=4))
    assert [len(chunk) for chunk in chunks] == [4, 4, 2]


def test_model_card_names_models_data_and_figures() -> None:
    card = model_card()
    assert {item["licence"] for item in card["data"]} >= {"MIT"}
    assert any("VADER" in item["name"] for item in card["data"])
    assert card["models"]
    for language in ("en", "zh"):
        assert card["accuracy"][language]["held_out"]["positive_vs_negative"] > 0.7
        assert card["accuracy"][language]["cross_source"]["positive_vs_negative"] > 0.7
