import json
from pathlib import Path

import pytest

from bot import nlu_data
from bot.nlu_data import Example, parse_annotated

PROJECT = Path(__file__).resolve().parents[3] / "bot" / "rasa" / "data"


def test_annotations_become_text_and_spans():
    ex = parse_annotated('move [BE-12345](booking_ref) to [next friday]{"entity": "date", "value": "fri"} ok',
                         "reschedule_booking")
    assert ex.text == "move BE-12345 to next friday ok"
    assert [(e.entity, e.value, ex.text[e.start:e.end]) for e in ex.entities] == [
        ("booking_ref", "BE-12345", "BE-12345"), ("date", "fri", "next friday")]


def test_entity_role_syntax_keeps_the_name():
    ex = parse_annotated("mail [a@b.co](email:a@b.co)", "inform")
    assert ex.entities[0].entity == "email" and ex.entities[0].value == "a@b.co"


def test_malformed_json_annotation_does_not_crash():
    ex = parse_annotated("see [x]{not json} there", "inform")
    assert ex.text == "see x there"


def test_project_data_has_enough_intents_and_examples():
    examples = nlu_data.load(PROJECT)
    counts: dict[str, int] = {}
    for ex in examples:
        counts[ex.intent] = counts.get(ex.intent, 0) + 1
    assert len(counts) >= 20
    assert min(counts.values()) >= 25, counts
    for needed in (
        "booking_status",
        "cancel_booking",
        "reschedule_booking",
        "refund_request",
        "payment_failed",
        "invoice_request",
        "provider_signup",
        "provider_payout",
        "complaint",
        "request_human",
        "greet",
        "thank_you",
        "goodbye",
        "out_of_scope",
    ):
        assert needed in counts
    texts = [ex.text.lower() for ex in examples]
    assert len(texts) == len(set(texts)), "duplicate training examples"
    assert {e.entity for ex in examples for e in ex.entities} >= {"booking_ref", "date", "email"}


def test_split_is_stratified_and_keeps_every_intent(tmp_path):
    examples = [Example(f"text {i}", f"intent{i % 3}") for i in range(30)]
    train, test = nlu_data.split(examples, 0.2)
    assert len(train) + len(test) == 30
    assert {e.intent for e in train} == {e.intent for e in test} == {"intent0", "intent1", "intent2"}
    assert not {e.text for e in train} & {e.text for e in test}


def test_dump_round_trips(tmp_path):
    examples = nlu_data.load(PROJECT)[:60]
    nlu_data.dump(examples, tmp_path / "x.yml")
    assert nlu_data.load(tmp_path / "x.yml") == examples


def test_non_nlu_blocks_and_empty_files_are_skipped(tmp_path):
    (tmp_path / "a.yml").write_text('version: "3.1"\nnlu:\n- regex: r\n  examples: |\n    - \\d+\n'
                                    '- synonym: x\n  examples: |\n    - y\n')
    (tmp_path / "b.yml").write_text("")
    assert nlu_data.load(tmp_path) == []


def test_rasa_json_format_is_read_with_entity_spans(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"rasa_nlu_data": {"common_examples": [
        {"text": "  where is BE-12345 ", "intent": "booking_status",
         "entities": [{"start": 11, "end": 19, "value": "BE-12345", "entity": "booking_ref"}]},
        {"text": "hello", "intent": "greet"},
        {"text": "", "intent": "greet"},  # empty: skipped, as Rasa does
        {"text": "bad span", "intent": "greet", "entities": [{"start": 5, "end": 99, "entity": "x"}]},
    ], "regex_features": []}}))
    examples = nlu_data.load(path)
    assert [(ex.text, ex.intent) for ex in examples] == [
        ("where is BE-12345", "booking_status"), ("hello", "greet"), ("bad span", "greet")]
    ent = examples[0].entities[0]
    assert examples[0].text[ent.start:ent.end] == "BE-12345" and ent.entity == "booking_ref"
    assert examples[2].entities == ()  # a span outside the text is dropped, the example kept


@pytest.mark.parametrize(("name", "content", "message"), [
    ("broken.yml", 'nlu:\n- intent: greet\n  examples: |\n    - hi\n   bad: [\n', "invalid YAML at line"),
    ("list.yml", "- just\n- a list\n", "expected a mapping"),
    ("nlu-map.yml", "nlu:\n  intent: greet\n", "'nlu' must be a list"),
    ("broken.json", '{"rasa_nlu_data": {', "invalid JSON at line 1"),
    ("nocommon.json", '{"rasa_nlu_data": {"common_examples": 3}}', "common_examples"),
])
def test_unreadable_files_are_a_clear_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(nlu_data.NLUDataError, match=message) as info:
        nlu_data.load(path)
    assert str(path) in str(info.value)


def test_non_utf8_file_is_a_clear_error_and_a_byte_order_mark_is_fine(tmp_path):
    latin1 = "nlu:\n- intent: greet\n  examples: |\n    - olá\n".encode("latin-1")
    (tmp_path / "latin1.yml").write_bytes(latin1)
    with pytest.raises(nlu_data.NLUDataError, match="not UTF-8"):
        nlu_data.load(tmp_path / "latin1.yml")
    (tmp_path / "bom.yml").write_bytes("\ufeffnlu:\n- intent: greet\n  examples: |\n    - olá\n".encode())
    assert nlu_data.load(tmp_path / "bom.yml") == [Example("olá", "greet")]


def test_several_entities_on_one_span_are_read_and_dumped_back(tmp_path):
    # Rasa 3's list form: one span, two annotations; it was left in the text as '[Berlin][{...}]'
    ex = parse_annotated('fly to [Berlin][{"entity": "city"}, {"entity": "city", "role": "to", '
                         '"value": "BER"}] now', "book_flight")
    assert ex.text == "fly to Berlin now"
    assert [(e.entity, e.value, ex.text[e.start:e.end]) for e in ex.entities] == [
        ("city", "Berlin", "Berlin"), ("city", "BER", "Berlin")]
    quoted = parse_annotated('say "hi" to [Zoë]{"entity": "name", "value": "Zo\\"e"}', "greet")
    assert quoted.entities[0].value == 'Zo"e'
    nlu_data.dump([ex, quoted], tmp_path / "x.yml")
    assert nlu_data.load(tmp_path / "x.yml") == [ex, quoted]


def test_yaml_is_read_as_rasa_reads_it_yes_and_no_stay_words(tmp_path):
    # PyYAML's YAML 1.1 read the intent "yes" as True and "12:30" as 750; Rasa reads YAML 1.2
    path = tmp_path / "nlu.yml"
    path.write_text("nlu:\n- intent: yes\n  examples:\n  - text: no\n  - text: 12:30\n  - text: 1.50\n"
                    "  - text: on\n- intent: off\n  examples: |\n    - turn it off\n")
    assert [(ex.intent, ex.text) for ex in nlu_data.load(path)] == [
        ("yes", "no"), ("yes", "12:30"), ("yes", "1.50"), ("yes", "on"), ("off", "turn it off")]


@pytest.mark.parametrize(("content", "message"), [
    # PyYAML kept the last of two keys: every block under the first 'nlu:' was dropped without a word
    ('nlu:\n- intent: a\n  examples: |\n    - x\nnlu:\n- intent: b\n  examples: |\n    - y\n',
     "invalid YAML at line 5: found duplicate key 'nlu'"),
    ("nlu:\n- intent: a\n  examples: |\n    - x\n  examples: |\n    - y\n",
     "invalid YAML at line 5: found duplicate key 'examples'"),
])
def test_a_key_given_twice_is_an_error_not_data_dropped(tmp_path, content, message):
    path = tmp_path / "dup.yml"
    path.write_text(content)
    with pytest.raises(nlu_data.NLUDataError, match=message):
        nlu_data.load(path)


@pytest.mark.parametrize(("content", "message"), [
    # the intent was "None", the example the text "None"
    ("nlu:\n- intent:\n  examples: |\n    - hi\n", ":2: an intent block needs a name"),
    ("nlu:\n- intent: greet\n  examples: |\n    - hi\n- intent: {a: b}\n  examples: |\n    - x\n",
     ":5: an intent block needs a name"),
    ("nlu:\n- intent: greet\n  examples:\n  - text: hi\n  - text:\n    metadata: {a: 1}\n",
     ":5: an example of intent 'greet' has no text"),
    ("nlu:\n- intent: greet\n  examples: {text: hi}\n", ":3: the examples of intent 'greet' must be"),
])
def test_a_broken_block_is_an_error_naming_file_line_and_intent(tmp_path, content, message):
    path = tmp_path / "bad.yml"
    path.write_text(content)
    with pytest.raises(nlu_data.NLUDataError, match=message) as info:
        nlu_data.load(path)
    assert str(info.value).startswith(f"{path}:")


def test_what_rasa_skips_is_skipped_with_a_warning_naming_the_line(tmp_path, caplog):
    path = tmp_path / "nlu.yml"
    path.write_text("nlu:\n- intent: greet\n  examples: |\n    -hi\n    # a comment\n    - hello\n"
                    "- intent: empty\n  examples: |\n- just a string\n- synonym: x\n  examples: |\n    - y\n")
    assert [(ex.intent, ex.text) for ex in nlu_data.load(path)] == [("greet", "hi"), ("greet", "hello")]
    assert f"{path}:5: 1 line(s) of intent 'greet' do not start with '-'" in caplog.text
    assert f"{path}:7: intent 'empty' has no examples" in caplog.text
    assert "'just a string' skipped" in caplog.text


def test_a_directory_named_like_a_file_is_not_read_as_one(tmp_path):
    (tmp_path / "old.yml").mkdir()
    (tmp_path / "nlu.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - hi\n")
    assert nlu_data.load(tmp_path) == [Example("hi", "greet")]


@pytest.mark.parametrize(("row", "message"), [
    # a TypeError traceback; then an example "['hi']" and an intent "{'name': 'greet'}"
    ({"text": "hi", "intent": "greet", "entities": 5}, r"common_examples\[1\]: 'entities' must be a list"),
    ({"text": ["hi"], "intent": "greet"}, r"common_examples\[1\]: 'text' must be a string"),
    ({"text": "hi", "intent": {"name": "greet"}}, r"common_examples\[1\]: 'intent' must be a string"),
    ("hi", r"common_examples\[1\] is not an object"),
])
def test_a_rasa_json_example_of_the_wrong_shape_is_an_error_naming_it(tmp_path, row, message):
    path = tmp_path / "train.json"
    rows = [{"text": "ok", "intent": "affirm"}, row]
    path.write_text(json.dumps({"rasa_nlu_data": {"common_examples": rows}}))
    with pytest.raises(nlu_data.NLUDataError, match=message) as info:
        nlu_data.load(path)
    assert str(path) in str(info.value)


def test_a_rasa_json_entity_without_a_value_takes_its_span(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"rasa_nlu_data": {"common_examples": [
        {"text": "at BE-12345", "intent": "inform",
         "entities": [{"entity": "booking_ref", "start": 3, "end": 11, "value": None},
                      {"entity": "flag", "start": True, "end": 2}]}]}}))  # a bool is no offset
    [ex] = nlu_data.load(path)
    assert [(e.entity, e.value) for e in ex.entities] == [("booking_ref", "BE-12345")]  # was "None"


def test_a_directory_skips_a_file_that_is_not_nlu_data_but_a_named_one_is_an_error(tmp_path, caplog):
    # a Rasa project's data directory with `rasa test nlu`'s output in it: a JSON list
    (tmp_path / "nlu.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - hi\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "intent_errors.json").write_text('[{"text": "hi", "intent": "greet"}]')
    assert nlu_data.load(tmp_path) == [Example("hi", "greet")]
    assert "intent_errors.json: not NLU data (a list, not a mapping): skipped" in caplog.text
    with pytest.raises(nlu_data.NLUDataError, match="expected a mapping"):
        nlu_data.load(tmp_path / "results" / "intent_errors.json")
