"""The one formula guard of every export."""

from __future__ import annotations

import pytest

from cxm.core.spreadsheet import formula_safe


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        "+1",
        "-1",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        '＝HYPERLINK("x")',
        "＋1",
        "－1",
        "＠x",
        " =1",
        "\u00a0＝1",
    ],
)
def test_formula_starts_are_neutralised(value):
    assert formula_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Great service", "1+1", "", "日本", "a=b", 42, None])
def test_other_values_are_unchanged(value):
    assert formula_safe(value) == value


def test_both_export_guards_are_the_one_function():
    from metrics import tables
    from surveys import views

    assert tables._safe_cell is formula_safe and views._safe_cell is formula_safe
