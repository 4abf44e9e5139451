"""Races with another process simulated in one test process."""

from revops.base.db import sql


def first_read_misses(monkeypatch, model) -> None:
    """The first read of a ``model`` row by its unique column finds nothing (another process writes it just after)."""
    real, missed = sql.instance_compiled_once, []

    def read(read_model, column, value):
        if read_model is model and not missed:
            missed.append(value)
            return None
        return real(read_model, column, value)

    monkeypatch.setattr(sql, "instance_compiled_once", read)
