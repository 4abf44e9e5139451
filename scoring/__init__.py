"""The scoring layer: fit and engagement scores, bands, stages, decay, triggers, A/B experiments and the predictive
model; it imports the lead layer and announces its results with ``scoring.signals``.

Pure computation (no models): ``engine`` (one lead), ``bulk_engine`` (many leads, numpy), ``conditions``,
``experiments`` and the ``predictive`` package. Then ``models`` and ``choices``; ``loaders`` (leads and events as
columns), ``selectors`` (reads, the live configuration), ``writes`` (SQL writes of the score log and triggers);
``services`` (writes, by topic); ``jobs`` (RQ entry points and their ``*_schedule`` helpers); ``receivers``;
``admin`` and the management commands.
"""
