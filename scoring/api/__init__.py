"""The scoring layer's API: the score-change feed."""
