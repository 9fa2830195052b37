"""The promises page shows the reliability figures as tables, one per test, never a dictionary dump."""

from __future__ import annotations

from tests import figures


def test_each_test_gets_a_table_and_a_record_per_process_gets_its_own() -> None:
    section = figures.render(
        {
            "test_load": {"tasks": 400000, "lost": 0, "seconds": 11.48, "rows": {"READY": 30, "SUCCESSFUL": 20}},
            "test_pools": {"after": {"11331": {"queued": 7, "running": 10}, "11335": {"queued": 23, "running": 10}}},
        },
        measured_on="on a test day",
    )
    assert section.startswith(figures.BEGIN) and section.endswith(figures.END)
    assert "| tasks | 400,000 |" in section and "| seconds | 11.48 |" in section
    assert "| rows | READY: 30, SUCCESSFUL: 20 |" in section
    assert "| after | queued | running |\n| --- | ---: | ---: |\n| `11331` | 7 | 10 |\n| `11335` | 23 | 10 |" in section
    assert "{" not in section and "'" not in section, "no dictionary or repr reaches the page"
