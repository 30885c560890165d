"""The message catalogue: language negotiation, rendering, every error class's title."""

from __future__ import annotations

import pytest

from app import errors
from app.messages import CATALOGUE, M, Message, preferred_language, render, translate_stored
from tests.source import syntax_tree


@pytest.mark.parametrize(("header", "lang"), [
    (None, "en"),
    ("", "en"),
    ("zh", "zh"),
    ("zh-CN", "zh"),
    ("zh-Hans-CN,zh;q=0.9", "zh"),
    ("zh-TW", "zh"),
    ("ZH-cn", "zh"),
    ("en", "en"),
    ("en-US,en;q=0.9", "en"),
    ("en-US,zh-CN;q=0.8", "en"),
    ("zh-CN;q=0.9,en;q=0.8", "zh"),
    ("en;q=0.5,zh;q=0.9", "zh"),  # q-values, not order, decide
    ("zh;q=0.5,en", "en"),
    ("zh;q=0, en;q=0.1", "en"),  # q=0: not acceptable
    ("zh, en;q=0", "zh"),
    ("en;q=0, zh;q=0.1", "zh"),
    ("zh;q=0", "en"),
    ("fr-FR,zh;q=0.4", "zh"),  # neither language is first, Chinese is acceptable
    ("fr, de", "en"),
    ("*", "en"),
    ("*;q=0.5, zh", "zh"),
    ("zh, en", "zh"),  # equal q: the earlier one
    ("en, zh", "en"),
    ("zh;q=abc, en;q=0.1", "en"),  # an unreadable range is skipped
    ("zh;q=2", "en"),  # q above 1 is not a q-value
    ("zh ; q = 0.8 , en ; q = 0.7", "zh"),
    ("garbage,,;;", "en"),
])
def test_accept_language_is_read_with_q_values(header, lang):
    assert preferred_language(header) == lang


def _error_classes():
    """Every error class of the service, wherever it is declared (the app imports them all)."""
    import app.main  # noqa: F401

    found, pending = [], [errors.WhistleError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [c for c in found if c.__module__.startswith("app.")]


def test_every_error_class_has_a_title_in_both_languages():
    classes = _error_classes()
    assert len(classes) >= 15
    for cls in classes:
        texts = CATALOGUE[f"title.{cls.slug}"]
        assert texts["en"] == cls.title, cls
        assert texts["zh"] and texts["zh"] != texts["en"], cls
        error = cls() if cls not in (errors.TooManyRequests,) else cls(retry_after=1)
        assert error.title_in("zh") == texts["zh"]
        assert error.detail_in("zh") == texts["zh"]  # no detail: the title, translated


def test_every_message_has_both_languages_with_the_same_parameters():
    import string

    def names(template):
        return {n for _, n, _, _ in string.Formatter().parse(template) if n}

    for message_id, texts in CATALOGUE.items():
        assert set(texts) == {"en", "zh"}, message_id
        assert names(texts["en"]) == names(texts["zh"]), message_id


def test_a_message_renders_in_each_language_and_nests():
    msg = M("error.transition", action="claim", status=M("status.closed"), allowed="reopen")
    assert str(msg) == "cannot claim a ticket that is closed; allowed now: reopen"
    assert msg.render("zh") == "工单当前状态为「已结案」，不能执行 claim；当前可执行：reopen"
    with pytest.raises(KeyError):
        M("no.such.message")


def test_an_error_with_a_message_keeps_its_english_text_for_logs():
    exc = errors.NotFound(M("error.no_ticket", id=7))
    assert str(exc) == exc.detail == "no ticket 7"
    assert exc.detail_in("zh") == "工单 7 不存在或无权查看"
    field = errors.InvalidInput.at(["body", "reason"], M("error.reason_required"))
    assert field.errors_in("zh")[0]["msg"] == "请填写原因"
    assert field.errors_in("en")[0]["msg"] == "a reason is required"
    assert isinstance(field.errors[0]["msg"], Message)


def test_stored_routing_reasons_are_translated_back():
    en = render("routing.street", item="0601", department="CGZF")
    assert translate_stored(en, "en") == en
    assert translate_stored(en, "zh") == "事项 0601 由街道层级的部门 CGZF 办理：进入该部门队列"
    rerouted = render("routing.rerouted", reason=render("routing.community", item="0301"))
    assert translate_stored(rerouted, "zh") == "改派：事项 0301 由社区办理：进入社区队列"
    assert translate_stored("bulk", "zh") == "bulk"  # not made from a template: as stored
    assert translate_stored(None, "zh") is None


def test_the_triage_reason_reads_in_chinese():
    from app.suggest.triage import triage_routing

    reason = triage_routing("0202", 0.31).reason
    assert reason == ("awaiting triage (待分拨): no confident suggestion (best guess 0202 at "
                      "0.31); a street dispatcher routes it")
    assert translate_stored(reason, "zh") == \
        "待分拨：未能可靠识别事项（最可能为 0202，置信度 0.31），由街道调度员分拨"


def _plain_text_errors() -> list[str]:
    """Every place in app/ (but Open311, whose spec answers in English) where an error a
    client sees is raised with a plain string rather than a catalogue message: the detail
    of ``SomeError("...")``, the message of ``SomeError.at(loc, "...")``, and the ``"msg"``
    of any ``{"loc": …, "msg": …}`` entry, in the raise or built before it. Internal (5xx)
    errors are not for the client to read."""
    import ast
    from pathlib import Path

    app = Path(errors.__file__).parent
    client_facing = {c.__name__ for c in _error_classes() if c.status < 500}

    def name(node):
        return node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)

    def text(node):
        if isinstance(node, ast.BinOp):  # "missing column(s): " + ", ".join(…)
            return text(node.left) or text(node.right)
        return isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, str))

    found = []
    for path in sorted(app.rglob("*.py")):
        if "open311" in path.relative_to(app).parts:
            continue
        for node in ast.walk(syntax_tree(path)):
            if isinstance(node, ast.Dict):  # an errors[] entry built apart from the raise
                said = [v for k, v in zip(node.keys, node.values, strict=True)
                        if isinstance(k, ast.Constant) and k.value == "msg"]
                if said and any(text(v) for v in said) and any(
                        isinstance(k, ast.Constant) and k.value == "loc" for k in node.keys):
                    found.append(f"{path.relative_to(app.parent)}:{node.lineno}: "
                                 f"{ast.unparse(node)}")
                continue
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if isinstance(node.func, ast.Attribute) and node.func.attr == "at" \
                    and name(node.func.value) in client_facing:
                said = node.args[1:2] + [v for k, v in keywords.items() if k == "msg"]
            elif name(node.func) in client_facing:
                said = node.args[:1] + [v for k, v in keywords.items() if k == "detail"]
            else:
                continue
            if any(text(arg) for arg in said):
                found.append(f"{path.relative_to(app.parent)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_error_is_raised_with_a_plain_string():
    assert _plain_text_errors() == [], "use M('<message id>', ...) from app.messages"


def test_the_scan_finds_a_plain_string(tmp_path, monkeypatch):
    # the scan is only worth something if it would catch one: feed it a module that does
    fake = tmp_path / "app"
    (fake / "open311").mkdir(parents=True)
    (fake / "errors.py").write_text("")
    (fake / "bad.py").write_text(
        'raise NotFound(f"no ticket {id}")\n'
        'raise InvalidInput.at(["body", "x"], "wrong")\n'
        'raise Gone(M("error.link_expired"), errors=[{"loc": [], "msg": "in the past"}])\n'
        'raise NotFound(M("error.no_ticket", id=1))\n'
        'raise WhistleError("a bug")\n'
        'errors.append({"loc": ["rows", 2], "msg": "missing " + name})\n')
    (fake / "open311" / "router.py").write_text('raise NotFound("English by the spec")\n')
    monkeypatch.setattr(errors, "__file__", str(fake / "errors.py"))
    assert sorted(line.split(":")[1] for line in _plain_text_errors()) == ["1", "2", "3", "6"]
