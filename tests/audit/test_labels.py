"""An event's changes as the trail lists them (audit/labels.py `changes_html`)."""
from __future__ import annotations

from svcproc.audit.labels import changes_html


def test_a_change_reads_before_and_after_with_a_dash_for_none():
    html = changes_html({"status": ["draft", "signed"], "reason": [None, "补录"], "hours": ["1.50", None]})
    assert html == ('<ul class="changes">'
                    '\n      <li><code>status</code>: draft → signed</li>'
                    '\n      <li><code>reason</code>: — → 补录</li>'
                    '\n      <li><code>hours</code>: 1.50 → —</li></ul>')


def test_what_is_not_a_pair_is_shown_as_it_is():
    html = changes_html({"workers": [3, 4, 5], "note": "two", "count": 2, "flag": None})
    assert "<code>workers</code>: [3, 4, 5]</li>" in html
    assert "<code>note</code>: two</li>" in html          # a string of two letters is no pair
    assert "<code>count</code>: 2</li>" in html
    assert "<code>flag</code>: None</li>" in html


def test_every_text_is_escaped():
    html = changes_html({"<b>": ["<script>", {"a": "<i>"}]})
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert "<code>&lt;b&gt;</code>: &lt;script&gt; →" in html


def test_no_changes_no_list():
    assert changes_html({}) == "" and changes_html(None) == ""


def test_numbers_and_booleans_read_as_python_writes_them_and_names_are_escaped_each_time():
    first = changes_html({"hours": [1.5, 2], "active": [True, False], "<k>": [0, None], "d": [[1, 2], {"a": "<"}]})
    again = changes_html({"<k>": ["<x>", 3]})
    assert first == ('<ul class="changes">'
                     '\n      <li><code>hours</code>: 1.5 → 2</li>'
                     '\n      <li><code>active</code>: True → False</li>'
                     '\n      <li><code>&lt;k&gt;</code>: 0 → —</li>'
                     "\n      <li><code>d</code>: [1, 2] → {&#39;a&#39;: &#39;&lt;&#39;}</li></ul>")
    assert again == '<ul class="changes">\n      <li><code>&lt;k&gt;</code>: &lt;x&gt; → 3</li></ul>'
