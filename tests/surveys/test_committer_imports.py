"""The first batch of the group committer sends `response_recorded`; its receiver (metrics: mark the
dashboards stale) must not import pandas or SciPy then, on the committer's thread, while the next
batch's requests wait: those are imported when the process starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.workers import ROOT

PROBE = r"""
import json, sys
import django
django.setup()
HEAVY = {"pandas", "scipy", "numpy"}
def heavy(names):
    return sorted(name for name in names if name.split(".")[0] in HEAVY and "." not in name)
at_start = heavy(sys.modules)
before = set(sys.modules)
from surveys.signals import response_recorded
# The database is not there: the receiver logs that and returns.
answers = response_recorded.send(sender=None, organization_id=1)
receivers = [receiver.__module__ + "." + receiver.__qualname__ for receiver, _answer in answers]
print("RESULT " + json.dumps({"at_start": at_start, "receivers": receivers,
                              "imported_by_signal": sorted(set(sys.modules) - before)}))
"""


def test_the_first_response_signal_imports_nothing_heavy():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cxm.settings.test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/cxm_down",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-3000:]
    result = json.loads(line.removeprefix("RESULT "))
    assert "metrics.apps._mark_stale" in result["receivers"]  # the receiver did run below
    assert result["at_start"] == ["numpy", "pandas", "scipy"]
    heavy = [
        name for name in result["imported_by_signal"] if name.split(".")[0] in {"pandas", "scipy", "numpy"}
    ]
    assert heavy == []
    assert not [name for name in result["imported_by_signal"] if name.startswith("metrics")]
