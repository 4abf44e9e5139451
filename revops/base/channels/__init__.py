"""Outgoing channels: Slack's Block Kit messages and its client with retries (the base imports no app, so every
builder here takes plain facts, not models)."""
