"""Follow-up questions rewritten into standalone ones, deterministically."""

from rag.answer.conversation import is_followup, rewrite_followup

FIRST = "What did Kazakhstan and Albania discuss?"
HISTORY = [("user", FIRST), ("assistant", "The sides discussed bilateral cooperation [1].")]


def test_what_about_carries_the_previous_topic():
    rewritten = rewrite_followup("and what about trade?", HISTORY)
    assert "Kazakhstan" in rewritten and "Albania" in rewritten and "trade" in rewritten
    assert rewritten == "What did Kazakhstan and Albania discuss about trade?"


def test_what_about_replaces_the_previous_subject_matter():
    history = [("user", "What did Blinken say about Ukraine?")]
    assert rewrite_followup("What about Russia?", history) == "What did Blinken say about Russia?"


def test_when_was_that_asks_for_the_date_of_the_previous_topic():
    rewritten = rewrite_followup("when was that?", HISTORY)
    assert rewritten.startswith("When ") and "Kazakhstan and Albania" in rewritten and "discuss" in rewritten


def test_pronouns_are_resolved_to_the_previous_actors():
    assert rewrite_followup("Did they agree on anything?", HISTORY) == "Did Kazakhstan and Albania agree on anything?"
    history = [("user", "What did Blinken say about Ukraine?")]
    assert rewrite_followup("What did he say about Russia?", history).startswith("What did Blinken say")


def test_standalone_questions_are_left_alone():
    question = "What did the United States say about Cuba in 2021?"
    assert not is_followup(question)
    assert rewrite_followup(question, HISTORY) == question


def test_no_history_means_no_rewrite():
    assert rewrite_followup("and what about trade?") == "and what about trade?"


def test_a_chain_of_follow_ups_keeps_its_topic():
    history = HISTORY + [("user", "and what about trade?"), ("assistant", "...")]
    rewritten = rewrite_followup("when was that?", history)
    assert rewritten.startswith("When ") and "Kazakhstan and Albania" in rewritten and "trade" in rewritten


def test_only_user_turns_set_the_topic():
    history = [("user", FIRST), ("assistant", "Blinken said nothing about Cuba.")]
    assert "Cuba" not in rewrite_followup("and what about investment?", history)


def test_a_period_a_bare_question_word_or_another_side_asks_the_previous_question_again():
    history = [("user", "Who led the Norland delegation in 2023?"),
               ("assistant", "Deputy Minister Ilse Varga led the Norland delegation.")]
    assert rewrite_followup("And in 2024?", history) == "Who led the Norland delegation in 2024?"
    assert rewrite_followup("what about in March 2022?", history) == "Who led the Norland delegation in March 2022?"
    assert rewrite_followup("When?", history) == "When: Who led the Norland delegation in 2023?"
    assert rewrite_followup("What about the Ostravian side?", history) == "Who led the Ostravian side in 2023?"
    assert rewrite_followup("And who led the Ostravian one?", history) == "Who led the Ostravian delegation?"
    assert rewrite_followup("When did the Ostravian minister arrive?", history) == "When did the Ostravian minister arrive?"
