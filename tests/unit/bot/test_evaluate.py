import json

import pytest

from bot.__main__ import main
from bot.embedded.classifier import calibrate_threshold
from bot.evaluate import Prediction, metrics, table
from bot.nlu_data import Example


def test_metrics_accuracy_macro_f1_and_out_of_scope():
    test = [Example("a", "x"), Example("b", "x"), Example("c", "y"), Example("d", "out_of_scope"),
            Example("e", "nlu_fallback")]
    preds = [Prediction("x", "x", 0.001), Prediction("y", "nlu_fallback", 0.002), Prediction("y", "y", 0.003),
             Prediction("x", "nlu_fallback", 0.004), Prediction("y", "y", 0.010)]
    m = metrics(test, preds)
    assert m["accuracy"] == round(2 / 3, 4)
    # x: tp1 fn1 fp0 → 2/3 ; y: tp1 fp1 fn0 → 2/3
    assert m["macro_f1"] == round(2 / 3, 4)
    # one of two OOS caught, one in-scope rejected
    assert m["oos_recall"] == 0.5 and m["oos_precision"] == 0.5
    assert m["in_scope_rejected"] == round(1 / 3, 4)
    assert m["parse_ms_p50"] == 3.0 and m["parse_ms_p95"] == 10.0
    assert "parse_cpu_ms_p95" not in m  # an HTTP engine's CPU time is not ours to measure
    assert "accuracy" in table([{"engine": "embedded", **m}])


def test_cpu_time_is_reported_next_to_wall_time_for_in_process_engines():
    preds = [Prediction("x", "x", 0.020 + i / 1000, cpu_seconds=0.005 + i / 10_000) for i in range(20)]
    m = metrics([Example(str(i), "x") for i in range(20)], preds)
    assert m["parse_ms_p95"] == 39.0 and m["parse_cpu_ms_p50"] == 5.95 and m["parse_cpu_ms_p95"] == 6.9


def test_no_out_of_scope_examples_gives_no_oos_figures():
    m = metrics([Example("a", "x")], [Prediction("x", "x", 0.001)])
    assert m["oos_precision"] is None and m["oos_recall"] is None and m["accuracy"] == 1.0


def test_threshold_separates_out_of_scope_when_it_can():
    conf = [0.9, 0.95, 0.85, 0.8, 0.3, 0.2, 0.25]
    correct = [True, True, True, True, False, False, False]
    oos = [False, False, False, False, True, True, True]
    t = calibrate_threshold(conf, correct, oos)
    assert 0.3 < t <= 0.8
    # without out-of-scope examples: reject at most ~5 % of the right answers
    t2 = calibrate_threshold([0.5 + i / 200 for i in range(100)], [True] * 100, [False] * 100)
    assert 0.5 < t2 < 0.53


def test_cli_rejects_missing_files(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--train", str(tmp_path / "nope.yml"), "--test", str(tmp_path / "nope.yml")])
    assert exc.value.code == 2
    assert "does not exist" in capsys.readouterr().err
    real = _nlu(tmp_path / "real.yml", {"greet": ["hi"], "bye": ["bye"]})
    with pytest.raises(SystemExit):
        main(["evaluate", "--engine", "rasa", "--train", str(real), "--test", str(real),
              "--rasa-config", str(tmp_path / "no-config.yml")])
    assert "no-config.yml does not exist" in capsys.readouterr().err


def test_cli_rejects_empty_data(tmp_path, capsys):
    empty = tmp_path / "empty.yml"
    empty.write_text('version: "3.1"\nnlu: []\n')
    assert main(["evaluate", "--train", str(empty), "--test", str(empty), "--quiet"]) == 2
    assert f"no NLU examples in the training data {empty}" in capsys.readouterr().err
    real = _nlu(tmp_path / "real.yml", {"greet": ["hi"], "bye": ["bye"]})
    stories = tmp_path / "stories.yml"
    stories.write_text('version: "3.1"\nstories:\n- story: s\n  steps:\n  - intent: greet\n')
    assert main(["evaluate", "--train", str(real), "--test", str(stories), "--quiet"]) == 2
    assert f"no NLU examples in the test data {stories}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["evaluate", "--engine", "dialogflow", "--train", str(empty), "--test", str(empty)])


def test_cli_broken_file_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    broken = tmp_path / "broken.yml"
    broken.write_text("nlu:\n- intent: greet\n  examples: |\n    - hi\n   oops: [\n")
    assert main(["evaluate", "--train", str(broken), "--test", str(broken), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "broken.yml: invalid YAML at line" in err and "Traceback" not in err


def _nlu(path, intents: dict[str, list[str]]):
    path.write_text('version: "3.1"\nnlu:\n' + "".join(
        f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {t}\n" for t in texts)
        for intent, texts in intents.items()))
    return path


def test_cli_one_intent_is_a_clear_error(tmp_path, capsys):
    train = _nlu(tmp_path / "one.yml", {"greet": ["hi", "hello", "hey there"]})
    assert main(["evaluate", "--train", str(train), "--test", str(train), "--quiet"]) == 2
    assert "at least two intents" in capsys.readouterr().err


def test_cli_tiny_data_with_single_example_intents_is_evaluated(tmp_path, capsys, caplog):
    # the calibration fold holding out "bye"'s and "out_of_scope"'s only examples leaves one intent
    # to train on: that fold is skipped, not a crash
    train = _nlu(tmp_path / "tiny.yml", {"greet": ["hi", "hello", "hey there"], "bye": ["bye"],
                                         "out_of_scope": ["what is the weather"]})
    test = _nlu(
        tmp_path / "test.yml",
        {
            "greet": ["hello you"],
            "bye": ["bye"],
            "never_trained": ["something"],
            "out_of_scope": ["tell me a joke"],
        },
    )
    assert main(["evaluate", "--train", str(train), "--test", str(test), "--quiet",
                 "--cache-dir", str(tmp_path / "models")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n_in_scope"] == 3 and result["n_out_of_scope"] == 1
    assert result["accuracy"] >= 1 / 3  # "never_trained" cannot be right; the others can
    assert "1 test intent(s) not in the training data" in caplog.text and "never_trained" in caplog.text


def test_retrieval_intents_of_out_of_scope_are_out_of_scope():
    # Rasa's base/key form: "out_of_scope/other" is the out_of_scope intent; "faq/price" is in scope
    test = [
        Example("what is the weather", "out_of_scope/other"),
        Example("¿hablas español?", "out_of_scope/non_english"),
        Example("how much is it", "faq/price"),
    ]
    preds = [
        Prediction("faq/price", "out_of_scope/other", 0.001),
        Prediction("faq/price", "faq/price", 0.001),
        Prediction("faq/price", "faq/price", 0.001),
    ]
    m = metrics(test, preds)
    assert (m["n_in_scope"], m["n_out_of_scope"], m["accuracy"]) == (1, 2, 1.0)
    assert m["oos_recall"] == 0.5 and m["oos_precision"] == 1.0 and m["in_scope_rejected"] == 0.0


def test_a_test_set_of_out_of_scope_examples_only_has_no_in_scope_figures():
    # there is nothing to be accurate on: None ("-" in the table), not an accuracy of 0.0
    m = metrics([Example("weather?", "out_of_scope"), Example("joke", "nlu_fallback")],
                [Prediction("greet", "nlu_fallback", 0.001), Prediction("greet", "greet", 0.001)])
    assert m["accuracy"] is None and m["macro_f1"] is None and m["accuracy_with_threshold"] is None
    assert m["in_scope_rejected"] is None and m["oos_recall"] == 0.5 and m["oos_precision"] == 1.0
    assert "  -  " in table([{"engine": "embedded", **m}])


def test_cli_an_oos_file_counts_as_out_of_scope_whatever_its_intents_are_called(tmp_path, capsys, caplog):
    train = _nlu(tmp_path / "train.yml", {"greet": ["hi", "hello", "hey there", "good morning"],
                                          "bye": ["bye", "goodbye", "see you later", "cheers"]})
    test = _nlu(tmp_path / "test.yml", {"greet": ["hello you"], "bye": ["bye bye"]})
    oos = _nlu(tmp_path / "oos.yml", {"oos": ["what is the weather"], "chitchat": ["tell me a joke"]})
    assert main(["evaluate", "--train", str(train), "--test", str(test), "--oos", str(oos), "--quiet",
                 "--cache-dir", str(tmp_path / "models")]) == 0
    result = json.loads(capsys.readouterr().out)
    # they were two in-scope test examples of intents never trained, and no out-of-scope figure
    assert (result["n_in_scope"], result["n_out_of_scope"]) == (2, 2) and result["oos_recall"] is not None
    assert "not in the training data" not in caplog.text


def test_cli_warns_when_test_examples_were_trained_on(tmp_path, capsys, caplog):
    train = _nlu(tmp_path / "train.yml", {"greet": ["hi", "hello", "hey there"], "bye": ["bye", "goodbye"]})
    test = _nlu(tmp_path / "test.yml", {"greet": ["Hello ", "hello you"], "bye": ["bye bye"]})
    assert main(["evaluate", "--train", str(train), "--test", str(test), "--quiet",
                 "--cache-dir", str(tmp_path / "models")]) == 0
    assert "1 of 3 test examples are also in the training data" in caplog.text


def test_cpu_seconds_of_a_quick_training_are_reported_and_none_only_from_the_cache(tmp_path, capsys):
    # "took more than a second" stood for "trained": a training under a second (the encoder already
    # loaded, as in bench/nlu.py's second dataset) was reported as loaded from the cache (null), and
    # a load from the cache slower than a second (a cold encoder) as a training's CPU time
    from bot.embedded.classifier import shared_encoder

    shared_encoder().encode(["warm"])
    train = _nlu(tmp_path / "train.yml", {"greet": ["hi", "hello"], "bye": ["bye", "goodbye"]})
    args = ["evaluate", "--train", str(train), "--test", str(train), "--quiet",
            "--cache-dir", str(tmp_path / "m")]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["train_cpu_seconds"] is not None
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["train_cpu_seconds"] is None


def test_cli_training_data_without_words_is_a_clear_error(tmp_path, capsys):
    train = _nlu(tmp_path / "emoji.yml", {"happy": ['"😀"', '"😀😀"'], "sad": ['"😢"', "?"]})
    assert main(["evaluate", "--train", str(train), "--test", str(train), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "the training data has no word of two or more letters or digits" in err  # was sklearn's
    assert "stop words" not in err


class _FakeRasa:
    """A Rasa server's /model/parse: intent "faq" for the FAQ questions, with a ResponseSelector's
    full key when ``selector``."""

    def __init__(self, port: int, selector: bool) -> None:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                text = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["text"]
                intent = "faq" if "price" in text or "open" in text else "greet"
                key = "faq/ask_price" if "price" in text else "faq/ask_hours"
                body: dict = {"intent": {"name": intent, "confidence": 0.9},
                              "intent_ranking": [{"name": intent, "confidence": 0.9}]}
                if selector and intent == "faq":
                    body["response_selector"] = {"all_retrieval_intents": ["faq"], "faq": {
                        "response": {"intent_response_key": key, "confidence": 0.9}, "ranking": []}}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self, timeout: float = 0) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("selector", [True, False])
def test_rasa_retrieval_intents_are_scored_by_their_response_selector_key(monkeypatch, caplog, selector):
    # Rasa's intent classifier says "faq" for "faq/ask_price": every retrieval-intent example counted
    # as wrong, silently, even with a ResponseSelector naming the right key
    from pathlib import Path

    from bot import evaluate as ev
    from bot import rasa_runtime

    monkeypatch.setattr(rasa_runtime, "train", lambda *a, **k: (Path("model.tar.gz"), 1.0))
    monkeypatch.setattr(rasa_runtime, "rasa_server", lambda model, port, workdir: _FakeRasa(port, selector))
    test = [Example("what is the price", "faq/ask_price"), Example("when are you open", "faq/ask_hours"),
            Example("hello", "greet")]
    result = ev.evaluate_rasa(Path("train.yml"), test, progress=False)
    if selector:
        assert result["accuracy"] == 1.0 and "retrieval intents" not in caplog.text
    else:  # nothing to name the key with: wrong, and said so
        assert result["accuracy"] == round(1 / 3, 4)
        assert "2 test intent(s) are retrieval intents (faq/ask_hours, faq/ask_price)" in caplog.text
