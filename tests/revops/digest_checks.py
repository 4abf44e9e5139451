"""Checks the dashboard tests share: figures read from the durations' digest against the exact ones (the counts
equal, each median and 90th percentile within the digest's error), and grouped rows compared in any order."""

from revops.top.duration_days import RELATIVE_ERROR


def as_rows(counts) -> list[tuple]:
    return sorted((tuple(row) for row in counts), key=repr)


def assert_within_digest_error(read: list[dict], exact: list[dict], key: str) -> None:
    """The digest's rows against the exact ones: the same groups, counts and SLA columns; each median and 90th
    percentile within 2.5 % of the exact value (plus the hundredth of an hour both are rounded to)."""
    assert [row[key] for row in read] == [row[key] for row in exact]
    for got, want in zip(read, exact, strict=True):
        for column, value in want.items():
            if column.endswith("_h") and value is not None and got[column] is not None:
                assert abs(got[column] - value) <= RELATIVE_ERROR * abs(value) + 0.011, (got[key], column)
            else:
                assert got[column] == value, (got[key], column)


def assert_stage_times_within_digest_error(read: list[dict], exact: list[dict]) -> None:
    """Each step's leads exact; its median and 90th percentile within 2.5 % (plus the tenth of a day both are
    rounded to)."""
    assert [(row["step"], row["leads"]) for row in read] == [(row["step"], row["leads"]) for row in exact]
    for got, want in zip(read, exact, strict=True):
        for column in ("median_days", "p90_days"):
            if want[column] is None:
                assert got[column] is None
            else:
                assert abs(got[column] - want[column]) <= RELATIVE_ERROR * abs(want[column]) + 0.1, got["step"]
