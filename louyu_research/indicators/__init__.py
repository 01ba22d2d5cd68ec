"""Indicators: the plan's monthly figures at every level, target tracking, the street
ranking and the lists (contract: INDICATORS.md), as pure functions of replayed frames.

`figures` computes and pins figures to a log position; `lists` builds the action lists;
`frames` holds the Pandera models of every output frame.
"""
