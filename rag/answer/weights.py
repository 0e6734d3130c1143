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
TYPED = {'intercept': -6.1,
 'coef': {'sim_part': -0.5143,
          'sim_question': 1.7039,
          'neighbour_sim': 0.5699,
          'overlap': 0.8825,
          'focus': 1.0443,
          'names_context': 1.4807,
          'names_in': 0.4125,
          'inv_rank': 1.4755,
          'first': -0.0664,
          'typed': 1.2867,
          'untyped': -1.2835,
          'anchored': 0.6284}}
ANSWER_THRESHOLD = 0.2
SHOW_THRESHOLD = 0.3
RELATIVE_MARGIN = 0.6
# The same for a sentence in another language than the question's (a Russian question, an
# English release). multilingual-dev: relevance 0.339 at 0.6, 0.422 at 0.75, 0.428 at 0.85,
# 0.472 at 0.9, fact recall 0.679 throughout; at 0.95 fact recall falls to 0.607. 0.85 keeps
# a step away from that edge.
CROSS_LANGUAGE_MARGIN = 0.85
