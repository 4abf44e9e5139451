"""Outgoing channels: Slack (Block Kit and the retrying WebClient), e-mail (Django's backend) and Microsoft Teams
(Adaptive Cards to incoming webhooks). The base imports no app, so every builder here takes plain facts."""
