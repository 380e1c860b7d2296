"""The app's template class reads its globals as Jinja would: a template's own globals over the
app's, both seen by the page, by what it includes and by the macros it imports."""
from __future__ import annotations

from jinja2 import DictLoader

from svcproc.core.templating import _Template


def test_templates_see_their_own_globals_over_the_apps(app):
    env = app.jinja_env.overlay(loader=DictLoader({
        "macros.html": "{% macro who() %}{{ greeting }}/{{ shared }}{% endmacro %}",
        "page.html": "{% import 'macros.html' as m %}{{ greeting }}|{{ shared }}|{{ m.who() }}|{% include 'part.html' %}",
        "part.html": "{{ greeting }}+{{ local }}",
    }))
    env.globals.update(greeting="app", shared="S")
    assert env.template_class is _Template

    page = env.get_template("page.html", globals={"greeting": "own"})

    assert page.render(local="L") == "own|S|app/S|own+L"
    assert env.get_template("part.html").render(local="x") == "app+x"
