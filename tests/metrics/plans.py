"""Query plans of the dashboard queries (PostgreSQL EXPLAIN): what the planner would run, found
without running it. Used by tests/metrics/test_query_plans.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db import connection

SCANS = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan")


def explain(sql: str, params: Any = None) -> dict[str, Any]:
    """The planner's plan of `sql` (EXPLAIN without ANALYZE: nothing is run)."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        raw = cursor.fetchone()[0]
    plan = json.loads(raw) if isinstance(raw, str) else raw
    return plan[0]["Plan"]


def explain_queryset(queryset: Any) -> dict[str, Any]:
    sql, params = queryset.query.sql_with_params()
    return explain(sql, params)


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def per_row_subplans(plan: dict[str, Any], *, large: int) -> list[str]:
    """SubPlans the executor re-runs for every outer row (not hashed once) whose subtree scans a
    relation of `large` estimated rows or more: the shape of `NOT IN (subquery)` once the subquery
    outgrows its hash memory, quadratic in the history. A correlated probe of a few rows (an index
    lookup per customer) is not one of them."""
    problems = []
    for node in _nodes(plan):
        if node.get("Parent Relationship") != "SubPlan":
            continue
        name = node.get("Subplan Name", "")
        if name.startswith("hashed"):
            continue
        for scan in _nodes(node):
            if scan["Node Type"] in SCANS and scan.get("Plan Rows", 0) >= large:
                problems.append(
                    f"{name}: {scan['Node Type']} on {scan.get('Relation Name')} "
                    f"({scan['Plan Rows']} rows per outer row)"
                )
    return problems
