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
TYPED = {'intercept': -5.703,
 'coef': {'sim_part': -0.6909,
          'sim_question': 1.7191,
          'neighbour_sim': 0.5758,
          'overlap': 0.8776,
          'focus': 1.1691,
          'names_context': 1.726,
          'names_in': 0.4007,
          'inv_rank': 1.3539,
          'first': -0.1122,
          'typed': 1.0661,
          'untyped': -1.0572,
          'anchored': 0.4366}}
ANSWER_THRESHOLD = 0.2
SHOW_THRESHOLD = 0.25
RELATIVE_MARGIN = 0.7
