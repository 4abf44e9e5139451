"""Leadflow's base layer: what every app builds on, importing no app.

Kill switches (`switches`), the job runner with its retries and failure hooks (`jobs`), the notifications outbox
(`notifications`), the automation log (`automation`), roles (`roles`), the health check (`health`), scheduled database
upkeep (`maintenance`) and the generic fast-path database helpers (`db/`). Its Django app label stays ``revops`` so its
tables and migrations keep their names.
"""
