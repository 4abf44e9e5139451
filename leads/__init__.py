"""The lead layer: leads, accounts and engagement events (ingest, normalization, deduplication, merges, enrichment).

Rooms: ``models`` and ``choices`` (data); ``normalize/`` (pure row normalizers); ``dedup/`` (the ingest match rules,
the pure scan engine and the weekly scan); ``quality`` (data quality score); ``selectors`` (reads); ``writes`` (SQL
on the lead table that bypasses the ORM); ``services/`` (writes, by topic); ``csv/`` (import, preview, export);
``jobs`` (RQ entry points and their schedules); ``signals`` and ``receivers``; ``filtersets``; ``admin/``; ``api/``.
"""
