"""``make bench`` rewrites docs/benchmarks.md with its new tables and keeps what was measured and written there
before (``bench/run.py`` ``merged``)."""

from bench.run import merged

OLD = """# Benchmarks

Written by `make bench` on 2026-12-03.

## Scoring

| old table |

## End-to-end latency (website forms)

| old latency table |

### A burst of engagement events with demo requests during it

old burst text

### Twenty-seventh stop: fewer round trips

history kept

## Dashboards at scale (PostgreSQL)

written by hand
"""


def test_a_rewritten_section_keeps_its_history_and_the_other_sections_stay():
    new_latency = ("## End-to-end latency (website forms)\n\n| new latency table |\n\n"
                   "### A burst of engagement events with demo requests during it\n\nnew burst text\n")
    text = merged(OLD, "# Benchmarks\n\nWritten by `make bench` on 2026-12-08.\n\n",
                  [new_latency, "## Brand new\n\n| table |\n"])

    assert text.startswith("# Benchmarks\n\nWritten by `make bench` on 2026-12-08.\n\n## Scoring\n")
    assert "| old table |" in text and "written by hand" in text  # sections not rerun stay
    assert "| new latency table |" in text and "| old latency table |" not in text
    assert "new burst text" in text and "old burst text" not in text  # the new run's own subsection
    assert text.count("### A burst of engagement events") == 1
    latency = text.index("## End-to-end latency")
    assert latency < text.index("| new latency table |") < text.index("### Twenty-seventh stop") < text.index(
        "## Dashboards at scale")  # the history after the new text, in its section
    assert text.rstrip().endswith("## Brand new\n\n| table |")  # a new benchmark's section at the end


def test_a_first_run_writes_the_sections_as_they_come():
    text = merged("", "# Benchmarks\n\n", ["## Scoring\n\n| t |\n", "## Routing\n\n| r |\n"])
    assert text == "# Benchmarks\n\n## Scoring\n\n| t |\n\n## Routing\n\n| r |\n"
