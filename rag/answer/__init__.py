"""The answer layer: retrieved passages -> a short answer whose every sentence the app has checked.

service.py      AnswerService.ask / .stream (AnswerEvent), the only entry point other layers use
limits.py       how long a question may be (checked by the service and the UI)
question.py     the question analysed once: standalone text, dates, parts and answer types, claim
selection.py    which sentences answer each part (one fitted relevance model; weights.py)
evidence.py     passages split into sentences and embedded once per question; injection,
                boilerplate and speaker labels kept out of the evidence
citations.py    the checker: drop invented keys, verify support and relevance, attach spans, renumber
premise.py      false premises (an action credited to someone else, or never reported)
generators.py   extractive | local | openai draft writers behind one interface (they only write)
conversation.py follow-up questions rewritten to stand alone
dates.py        date intent in questions; relative dates in releases resolved
prompts.py      every prompt and fixed answer text
words.py        every word list, keyed by language
lexical.py      stems, names, numbers, countries/demonyms
The adapters it uses sit beside the other ones: rag/nlp.py (spaCy: entities, dependencies) and
rag/local_llm.py (the bundled SmolLM2-135M-Instruct).
"""
