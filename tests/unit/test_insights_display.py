"""Report data shown by type (PERCENTAGE, DURATION in ms, DATE in epoch ms, LINK, BOOLEAN) and the reports' summary."""

from datetime import UTC, datetime

import pytest

from bitbucket_sync.client import records
from dashboard.selectors.insights import data_value, summarise


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        ("PERCENTAGE", 87.5, "87.5 %"),
        ("PERCENTAGE", 100, "100 %"),
        ("DURATION", 48200, "48.2 s"),
        ("DURATION", 5000, "5 s"),
        ("DURATION", 125000, "2 min 5 s"),
        ("DURATION", 7_260_000, "2 h 1 min"),
        ("BOOLEAN", True, "yes"),
        ("NUMBER", 3, "3"),
        ("TEXT", "<b>", "<b>"),  # escaped by the template, as all text
        ("DATE", "not a number", "not a number"),
    ],
)
def test_data_value_text_by_type(kind, value, text):
    assert data_value(records.ReportData(title="t", type=kind, value=value)).text == text


def test_date_is_epoch_milliseconds_and_link_keeps_its_href_for_safe_url():
    when = data_value(records.ReportData(title="t", type="DATE", value=1788255000000)).when
    assert when == datetime(2026, 9, 1, 9, 30, tzinfo=UTC)
    link = data_value(records.ReportData(title="t", type="LINK", link_text="", link_href="javascript:x"))
    assert (link.text, link.href) == ("javascript:x", "javascript:x")  # the template shows it as text only


def test_summary_counts_results_worst_first():
    def report(result: str) -> records.Report:
        return records.Report(uuid="{u}", title="t", report_type="TEST", result=result)

    summary = summarise([report("PASSED"), report("PENDING"), report("PASSED")])
    assert (summary.passed, summary.pending, summary.failed, summary.state) == (2, 1, 0, "PENDING")
    assert summarise([]).state == ""
