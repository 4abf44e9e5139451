"""Generic database helpers for the hot paths: SQL writes and history copies (`sql`), SQLite's checkpointer
(`sqlite`), unsaved instances built fast (`instances`) and batch memory settings (`memory`). They know no app's
models: each app passes its own."""
