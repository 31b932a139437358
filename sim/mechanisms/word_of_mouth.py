"""Word of mouth (DIM-B2B, DIM-Kommunikation, REVIERDIALOG): every customer answers "would you
recommend us?" on a 0-10 scale each period (promoters 9-10, detractors 0-6, as the NPS defines them);
customers hear what the people they listen to say about their own firm."""

from __future__ import annotations

from .._jit import rule


@rule
def is_promoter(score):
    """Promoters answer 9 or 10."""
    return score >= 9


@rule
def is_detractor(score):
    """Detractors answer 0 to 6."""
    return score <= 6


@rule
def net_word(promoters, detractors, heard):
    """The net word of mouth a customer hears about her firm: (promoters - detractors) among the
    ``heard`` people she listens to (0 if she listens to nobody)."""
    return (promoters - detractors) / heard if heard > 0 else 0.0
