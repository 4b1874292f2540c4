"""Pages: journeys and their map, touchpoints, paths and drop-off, customers, CSV imports."""

from __future__ import annotations

from ._common import MIN_N_FOR_COLOUR, MIN_N_FOR_TREND, _can, _metric_rows, _tone
from .customers import _timeline, customer_detail, customer_erase, customer_export, customer_index
from .imports import _job_status, import_detail, import_index, import_status
from .journeys import (
    journey_delete,
    journey_edit,
    journey_index,
    journey_map,
    stage_add,
    stage_delete,
    stage_edit,
    stage_move,
)
from .paths import _date_range, journey_paths
from .rates import exchange_rates
from .touchpoints import (
    _month_starts,
    _touchpoint_form_page,
    touchpoint_create,
    touchpoint_delete,
    touchpoint_detail,
    touchpoint_edit,
    touchpoint_move,
)

__all__ = [
    "MIN_N_FOR_COLOUR",
    "MIN_N_FOR_TREND",
    "_can",
    "_date_range",
    "_job_status",
    "_metric_rows",
    "_month_starts",
    "_timeline",
    "_tone",
    "_touchpoint_form_page",
    "customer_detail",
    "customer_erase",
    "customer_export",
    "customer_index",
    "exchange_rates",
    "import_detail",
    "import_index",
    "import_status",
    "journey_delete",
    "journey_edit",
    "journey_index",
    "journey_map",
    "journey_paths",
    "stage_add",
    "stage_delete",
    "stage_edit",
    "stage_move",
    "touchpoint_create",
    "touchpoint_delete",
    "touchpoint_detail",
    "touchpoint_edit",
    "touchpoint_move",
]
