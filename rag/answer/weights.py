"""Weights of the answer-selection model (rag.answer.selection).

Written by eval/tools/fit_selection.py, fitted on: demo-dev, heldout-dev.
Do not edit by hand: refit instead (the command is in that script's docstring).
"""

CHEAP = {'intercept': -6.4463,
 'coef': {'sim_part': -0.3085,
          'sim_question': 3.8261,
          'neighbour_sim': 0.2216,
          'overlap': 0.5399,
          'focus': 1.6822,
          'names_context': 1.4117,
          'names_in': 0.2011,
          'inv_rank': 1.5358,
          'first': -0.0059}}
TYPED = {'intercept': -4.6868,
 'coef': {'sim_part': -0.6828,
          'sim_question': 1.6372,
          'neighbour_sim': 0.5301,
          'overlap': 0.7592,
          'focus': 1.2987,
          'names_context': 1.0672,
          'names_in': 0.2376,
          'inv_rank': 1.1599,
          'first': 0.0709,
          'typed': 1.0142,
          'untyped': -1.0253,
          'anchored': 0.4409}}
ANSWER_THRESHOLD = 0.25
SHOW_THRESHOLD = 0.25
RELATIVE_MARGIN = 0.6
