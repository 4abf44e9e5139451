"""Management commands of the lead layer: CSV import and export, the duplicate scan."""
