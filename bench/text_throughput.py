"""Benchmark: throughput of the text analysis on generated comments, mixed Chinese and English, 5-80
characters, the way a backfill runs it (feedback.text.analyse_parallel_chunks: worker processes,
batches of 2,000, results back in the parent in order). Analysis only; the writes are the pipeline's.

The comments are assembled at random from clause fragments (praise and complaints about delivery, price,
quality, service, the app...), with contrast words, numbers and both scripts in one comment, so most
comments are distinct (the share of distinct comments and clauses is printed: the analyser caches per
clause, so repetition would flatter the figure).

Usage:
  nice -n 5 .venv/bin/python bench/text_throughput.py --comments 1000000 --processes 2 [--no-card]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feedback.text import default_taxonomy  # noqa: E402
from feedback.text.engine import analyse_parallel_chunks  # noqa: E402
from feedback.text.model_card import update_model_card  # noqa: E402

ZH_SUBJECTS = ["物流", "快递", "客服", "价格", "质量", "东西", "包装", "店员", "售后", "退款", "app", "页面", "门店", "配送",
               "味道", "服务态度", "发票", "支付", "排队", "小哥", "做工", "屏幕", "电池", "衣服", "尺码"]  # fmt: skip
ZH_PREDICATES = ["很快", "太慢了", "非常好", "一般般", "很差", "不错", "有点贵", "很实惠", "坏了", "没有问题", "不太满意",
                 "特别热情", "态度很差", "等了很久", "挺方便的", "老是闪退", "很干净", "不好用", "超级棒", "还行吧",
                 "让人失望", "值得推荐", "不给退", "到现在还没到账", "比上次好多了"]  # fmt: skip
ZH_JOINERS = ["，", "。", "，但是", "，不过", "！", "，而且", "；", "，就是"]
EN_SUBJECTS = ["the delivery", "shipping", "customer service", "the price", "the quality", "the app", "the staff",
               "the checkout", "my refund", "the store", "the driver", "support", "the website", "the invoice",
               "the packaging", "the wait", "the product", "the cashier", "billing", "the email updates"]  # fmt: skip
EN_PREDICATES = ["was fast", "was really slow", "is great", "was okay", "was terrible", "is too expensive",
                 "was worth it", "arrived broken", "keeps crashing", "was not good", "was not bad at all",
                 "took forever", "was super helpful", "was rude", "works fine", "never arrived",
                 "was easy", "is confusing", "was amazing", "could be better"]  # fmt: skip
EN_JOINERS = [", ", ". ", " but ", ", however ", " and ", "! ", "; "]


def comment(rng: random.Random) -> str:
    while True:
        language = rng.random()
        parts: list[str] = []
        for index in range(rng.choice((1, 1, 2, 2, 3))):
            if language < 0.55 or (language < 0.65 and index % 2 == 0):
                piece = rng.choice(ZH_SUBJECTS) + rng.choice(ZH_PREDICATES)
                joiner = rng.choice(ZH_JOINERS)
            else:
                piece = f"{rng.choice(EN_SUBJECTS)} {rng.choice(EN_PREDICATES)}"
                joiner = rng.choice(EN_JOINERS)
            if rng.random() < 0.2:
                piece += f" {rng.randint(2, 99)}"
            parts.append(piece + joiner)
        text = "".join(parts).strip(" ,，;；").strip()
        text = text[0].upper() + text[1:] if text[0].isascii() else text
        if 5 <= len(text) <= 80:
            return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--chunk-size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--no-card", action="store_true")
    options = parser.parse_args()

    rng = random.Random(options.seed)
    started = time.perf_counter()
    texts = [comment(rng) for _ in range(options.comments)]
    generated = time.perf_counter() - started
    lengths = [len(t) for t in texts]
    distinct = len(set(texts)) / len(texts)
    print(f"generated {len(texts):,} comments in {generated:.1f}s; length {min(lengths)}-{max(lengths)}, "
          f"mean {sum(lengths) / len(lengths):.1f}; distinct {distinct:.1%}", file=sys.stderr)  # fmt: skip

    taxonomy = default_taxonomy()
    cpu_before = os.times()
    started = time.perf_counter()
    analysed = mentions = 0
    negative = positive = 0
    for chunk in analyse_parallel_chunks(
        texts, taxonomy=taxonomy, processes=options.processes, chunk_size=options.chunk_size
    ):
        analysed += len(chunk)
        for result in chunk:
            mentions += len(result.themes)
            negative += result.sentiment == "negative"
            positive += result.sentiment == "positive"
        if analysed % 100_000 < options.chunk_size:
            rate = analysed / (time.perf_counter() - started)
            print(f"  {analysed:,} analysed, {rate:,.0f}/s", file=sys.stderr)
    elapsed = time.perf_counter() - started
    cpu_after = os.times()
    figures = {
        "comments": analysed,
        "processes": options.processes,
        "chunk_size": options.chunk_size,
        "seconds": round(elapsed, 1),
        "comments_per_second": round(analysed / elapsed),
        "distinct_comments": round(distinct, 4),
        "mean_length": round(sum(lengths) / len(lengths), 1),
        "theme_mentions_per_comment": round(mentions / analysed, 2),
        "share_negative": round(negative / analysed, 3),
        "share_positive": round(positive / analysed, 3),
        "load_average_after": [round(x, 1) for x in os.getloadavg()],
        "children_cpu_seconds": round(
            (cpu_after.children_user - cpu_before.children_user)
            + (cpu_after.children_system - cpu_before.children_system),
            1,
        ),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(figures, indent=2))
    if not options.no_card:
        update_model_card(throughput=figures)


if __name__ == "__main__":
    main()
