"""Weights of the answer-selection model (rag.answer.selection).

Written by eval/tools/fit_selection.py, fitted on: demo-dev, heldout-dev.
Do not edit by hand: refit instead (the command is in that script's docstring).
"""

CHEAP = {'intercept': -6.4358,
 'coef': {'sim_part': -0.332,
          'sim_question': 3.8313,
          'neighbour_sim': 0.2276,
          'overlap': 0.5163,
          'focus': 1.7014,
          'names_context': 1.414,
          'names_in': 0.193,
          'inv_rank': 1.5367,
          'first': -0.0048}}
TYPED = {'intercept': -5.7052,
 'coef': {'sim_part': -0.7375,
          'sim_question': 1.8721,
          'neighbour_sim': 0.5382,
          'overlap': 0.9583,
          'focus': 1.1575,
          'names_context': 1.6984,
          'names_in': 0.3878,
          'inv_rank': 1.394,
          'first': -0.1406,
          'typed': 1.0353,
          'untyped': -1.0467,
          'anchored': 0.4031}}
ANSWER_THRESHOLD = 0.25
SHOW_THRESHOLD = 0.4
RELATIVE_MARGIN = 0.7
