"""Runs every benchmark in bench/ (PostgreSQL required: BENCH_DATABASE_URL, default a local `cxm_bench`).

Each script prints its figures and the command that reproduces it; bench/RESULTS.md keeps them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["surveys_submit.py", "journeys_ingest.py", "metrics_recompute.py"]


def main() -> int:
    failed = 0
    for name in SCRIPTS:
        script = HERE / name
        if not script.exists():
            continue
        print(f"\n=== {name}", flush=True)
        failed += subprocess.call([sys.executable, str(script), *sys.argv[1:]], cwd=HERE.parent) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
