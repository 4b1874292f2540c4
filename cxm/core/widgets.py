"""Form widgets shared by every app's pages."""

from __future__ import annotations

from typing import Any

from django import forms


class IsoDateInput(forms.DateInput):
    """`<input type="date">`: the browser reads only ISO `YYYY-MM-DD` in `value`, whatever the page's
    language (a localized `2026/11/22` leaves the field blank), and shows it in the user's format."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")
