"""The answer layer: retrieved passages -> a short answer whose every sentence the app has checked.

service.py      AnswerService.ask / .stream (AnswerEvent), the only entry point other layers use
generators.py   extractive | local | openai draft writers behind one interface
citations.py    the checker: drop invented keys, verify each sentence, attach spans, renumber
evidence.py     passages split into sentences and embedded once per question; injection filter
relevance.py    which sentences answer the question; the refusal threshold
answer_type.py  expected answer type: a question asking for a quantity needs a sentence giving one
premise.py      false-premise detection (action credited to someone else, or never reported)
conversation.py follow-up questions rewritten to stand alone
dates.py        date intent in questions; relative dates in releases resolved
prompts.py      every prompt and fixed answer text
local_model.py  the bundled SmolLM2-135M-Instruct, loaded once per process
lexical.py      stems, names, numbers, countries/demonyms
testing.py      test doubles (StaticRetriever, the Kazakh release as chunks)
"""
