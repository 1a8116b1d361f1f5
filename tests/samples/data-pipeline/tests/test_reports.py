import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from reports import report


def test_report_names_its_partition() -> None:
    assert report("2026-11-26") == "report for 2026-11-26"
