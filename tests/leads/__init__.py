"""Tests of the lead layer."""
