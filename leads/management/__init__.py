"""Management commands of the lead layer."""
