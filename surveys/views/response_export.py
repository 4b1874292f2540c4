"""Pages: the filtered responses exported as CSV or XLSX."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone, translation

from cxm.core.spreadsheet import formula_safe
from cxm.tenancy.scoping import organization_required
from cxm.tenancy.tenant import organization_of

from .. import exports
from ._common import _filtered_responses

_safe_cell = formula_safe  # a customer's comment must stay text in a spreadsheet


class _Echo:
    def write(self, value: str) -> str:
        return value


@organization_required("export")
def response_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """CSV or XLSX of the filtered responses, streamed: rows are read in chunks, never all at once.
    One column per question of the exported surveys; times in the organization's zone (CSV: ISO 8601
    with the offset; XLSX: real dates, which Excel keeps without a zone)."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    organization = organization_of(request)
    form, responses = _filtered_responses(request)
    filters = {
        k: str(v) for k, v in (form.cleaned_data if form.is_valid() else {}).items() if v not in (None, "")
    }
    # `?proof=1`: the export carries a verified proof that no answer was altered or dropped.
    proof = exports.export_proof(
        organization=organization, fmt=fmt, filters=filters, verify=request.GET.get("proof") == "1"
    )
    columns = exports.question_columns(responses=responses, language=translation.get_language() or "en")
    rows = exports.export_rows(responses=responses, columns=columns, tz=organization.tzinfo)
    stamp = timezone.localtime(timezone.now(), organization.tzinfo).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        writer = csv.writer(_Echo())

        def stream() -> Iterator[str]:
            yield "\ufeff" + writer.writerow(exports.export_headers(columns=columns))
            for row in rows:
                row[1] = row[1].isoformat()
                yield writer.writerow([_safe_cell(v) for v in row])

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="responses-{stamp}.csv"'
        _proof_headers(response, proof)
        return response
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("responses")
    sheet.append(exports.export_headers(columns=columns, time_zone=organization.time_zone))
    for row in rows:
        submitted = WriteOnlyCell(sheet, value=row[1].replace(tzinfo=None))
        submitted.number_format = "yyyy-mm-dd hh:mm:ss"
        cells = [_safe_cell(v) for v in row]
        cells[1] = submitted
        sheet.append(cells)
    if proof is not None:
        proof_sheet = workbook.create_sheet("proof")
        for name, value in proof.items():
            proof_sheet.append([name, json.dumps(value) if isinstance(value, list) else value])
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    workbook.save(path)
    workbook_file = open(path, "rb")  # noqa: SIM115  (FileResponse closes it)
    os.unlink(path)  # the open handle keeps the data until the download ends
    response = FileResponse(
        workbook_file,
        as_attachment=True,
        filename=f"responses-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    _proof_headers(response, proof)
    return response


def _proof_headers(response: HttpResponseBase, proof: dict[str, Any] | None) -> None:
    """The proof of the sealed responses (also the `proof` sheet of an XLSX), when asked for."""
    if proof is None:
        return
    response["X-Responses-Chain-Head"] = proof["chain_head"]
    response["X-Responses-Chain-Length"] = str(proof["chain_length"])
    response["X-Responses-Sealed"] = str(proof["sealed_responses"])
    response["X-Responses-Intact"] = "true" if proof["intact"] else "false"
    response["X-Responses-Unsealed-Recent"] = str(proof["unsealed_recent_responses"])
