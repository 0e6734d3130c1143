"""Weights of the answer-selection model (rag.answer.selection).

Written by eval/tools/fit_selection.py, fitted on: demo-dev, heldout-dev.
Do not edit by hand: refit instead (the command is in that script's docstring).
"""

CHEAP = {'intercept': -6.4452,
 'coef': {'sim_part': -0.3178,
          'sim_question': 3.7902,
          'neighbour_sim': 0.2273,
          'overlap': 0.5567,
          'focus': 1.6889,
          'names_context': 1.4506,
          'names_in': 0.2036,
          'inv_rank': 1.4948,
          'first': -0.0124}}
TYPED = {'intercept': -6.001,
 'coef': {'sim_part': -0.5462,
          'sim_question': 1.7693,
          'neighbour_sim': 0.4852,
          'overlap': 0.9292,
          'focus': 0.9244,
          'names_context': 1.4742,
          'names_in': 0.4034,
          'inv_rank': 1.3809,
          'first': -0.1008,
          'typed': 1.2695,
          'untyped': -1.2725,
          'anchored': 0.702}}
ANSWER_THRESHOLD = 0.2
SHOW_THRESHOLD = 0.35
RELATIVE_MARGIN = 0.7
