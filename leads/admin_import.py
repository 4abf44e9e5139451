"""Admin screens for CSV import and export of leads (being built)."""
