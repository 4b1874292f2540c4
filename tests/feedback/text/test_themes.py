"""Theme matching: word boundaries, exclusions, the organization dictionary, clause sentiment, versions."""

from __future__ import annotations

from feedback.text import Analyzer, Taxonomy, default_taxonomy

TAXONOMY = Taxonomy.from_dict(
    {
        "themes": [
            {
                "key": "app",
                "phrases_en": ["app"],
                "phrases_zh": ["应用"],
                "exclusions": ["job application", "app store"],
                "subthemes": [{"key": "crash", "phrases_en": ["crash", "crashes"], "phrases_zh": ["闪退"]}],
            },
            {"key": "brand", "phrases_zh": ["云鲸扫地机"], "phrases_en": ["cloudwhale"]},
            {"key": "price", "phrases_en": ["cheap"], "exclusions": ["cheap quality"]},
        ]
    }
)


def themes(analyzer: Analyzer, text: str) -> list[tuple[str, str, str]]:
    return [(m.theme, m.subtheme, text[m.start : m.end]) for m in analyzer.analyse(text).themes]


def test_english_word_boundaries() -> None:
    analyzer = Analyzer(taxonomy=TAXONOMY)
    assert themes(analyzer, "I am happy") == []
    assert themes(analyzer, "The App is great") == [("app", "", "App")]
    assert themes(analyzer, "both apps are fine") == [("app", "", "apps")]
    assert themes(analyzer, "it crashes a lot") == [("app", "crash", "crashes")]


def test_exclusions_silence_their_theme_in_the_clause() -> None:
    analyzer = Analyzer(taxonomy=TAXONOMY)
    assert themes(analyzer, "my job application was lost") == []
    assert themes(analyzer, "found it in the app store") == []
    assert themes(analyzer, "it is cheap") == [("price", "", "cheap")]
    assert themes(analyzer, "cheap quality, sadly") == []
    # The exclusion is in another clause: the theme still counts here.
    assert themes(analyzer, "it is cheap. not cheap quality") == [("price", "", "cheap")]


def test_subtheme_wins_and_one_mention_per_theme_per_clause() -> None:
    analyzer = Analyzer(taxonomy=TAXONOMY)
    assert themes(analyzer, "the app crashes") == [("app", "crash", "crashes")]
    assert themes(analyzer, "应用经常闪退") == [("app", "crash", "闪退")]


def test_dictionary_words_are_kept_whole() -> None:
    text = "云鲸扫地机很好用"
    plain = Analyzer(taxonomy=TAXONOMY)
    custom = Analyzer(taxonomy=TAXONOMY, dictionary=["云鲸扫地机"])
    assert "云鲸扫地机" not in plain.analyse(text).tokens
    assert "云鲸扫地机" in custom.analyse(text).tokens
    assert themes(custom, text) == [("brand", "", "云鲸扫地机")]
    assert custom.analyse(text).search_text.startswith("云鲸扫地机 ")


def test_mentions_carry_their_clause_sentiment() -> None:
    analyzer = Analyzer(taxonomy=default_taxonomy())
    result = analyzer.analyse("物流很快但是东西坏了")
    found = {m.theme: m.sentiment for m in result.themes}
    assert found == {"delivery": "positive", "product_quality": "negative"}
    result = analyzer.analyse("The delivery was fast but the app keeps crashing")
    found = {m.theme: m.sentiment for m in result.themes}
    assert found == {"delivery": "positive", "app_website": "negative"}


def test_default_taxonomy_is_a_cx_taxonomy() -> None:
    taxonomy = default_taxonomy()
    keys = [theme.key for theme in taxonomy.themes]
    assert keys == [
        "delivery",
        "price",
        "product_quality",
        "customer_service",
        "staff",
        "wait_time",
        "app_website",
        "checkout_payment",
        "returns_refunds",
        "billing",
        "store",
        "communication",
    ]
    for theme in taxonomy.themes:
        assert theme.subthemes and theme.phrases_en and theme.phrases_zh and theme.name_zh
    assert Taxonomy.from_dict(taxonomy.as_dict()) == taxonomy
    analyzer = Analyzer(taxonomy=taxonomy)
    samples = {
        "客服一直不回复": "customer_service",
        "排队排了一个小时": "wait_time",
        "退款到现在还没到账": "returns_refunds",
        "支付宝付款失败了": "checkout_payment",
        "发票一直没开": "billing",
        "店里很干净": "store",
        "the cashier was very friendly": "staff",
        "too expensive for what you get": "price",
        "I never got an email about the delay": "communication",
    }
    for text, theme in samples.items():
        assert theme in {m.theme for m in analyzer.analyse(text).themes}, text


def test_versions_change_with_taxonomy_and_dictionary() -> None:
    base = Analyzer(taxonomy=default_taxonomy())
    same = Analyzer(taxonomy=Taxonomy.from_dict(default_taxonomy().as_dict()))
    assert base.version == same.version
    edited = default_taxonomy().as_dict()
    edited["themes"][0]["phrases_en"] = [*edited["themes"][0]["phrases_en"], "drone drop"]
    assert Analyzer(taxonomy=Taxonomy.from_dict(edited)).version != base.version
    assert Analyzer(taxonomy=default_taxonomy(), dictionary=["云鲸"]).version != base.version
