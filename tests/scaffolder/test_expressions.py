"""``${{ }}`` expressions: Nunjucks semantics as Backstage templates rely on, in a sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from goldpath.scaffolder.expressions import ExpressionError, Templater

CONTEXT: dict[str, Any] = {
    "parameters": {
        "name": "Payments",
        "tags": ["python", "grpc"],
        "replicas": 3,
        "ratio": 2.0,
        "enabled": True,
        "empty": [],
        "owner": "group:default/team-a",
        "repoUrl": "github.com?owner=acme&repo=payments",
        "nested": {"db": {"size": "small"}},
    },
    "steps": {"publish": {"output": {"remoteUrl": "https://git.example/acme/payments"}}},
    "secrets": {"token": "abc"},
    "user": {"ref": "user:default/ada", "entity": {"metadata": {"name": "ada"}}},
    "each": {"key": "0", "value": "eu"},
}

templater = Templater()


def render(value: Any) -> Any:
    return templater.render_value(value, CONTEXT, where="test")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${{ parameters.tags }}", ["python", "grpc"]),
        ("${{ parameters.replicas }}", 3),
        ("${{ parameters.enabled }}", True),
        ("${{ parameters.nested }}", {"db": {"size": "small"}}),
        ("  ${{ parameters.name }}  ", "Payments"),
        ("${{ parameters.missing }}", None),
        ("${{ steps['publish'].output.remoteUrl }}", "https://git.example/acme/payments"),
        ("${{ steps.publish.output.remoteUrl }}", "https://git.example/acme/payments"),
        ("${{ user.entity.metadata.name }}", "ada"),
        ("${{ each.value | upper }}", "EU"),
        ("${{ null }}", None),
    ],
)
def test_one_expression_keeps_its_type(text: str, expected: Any) -> None:
    assert render(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tags: ${{ parameters.tags }}", "tags: python,grpc"),
        ("on=${{ parameters.enabled }}", "on=true"),
        ("x${{ parameters.missing }}y", "xy"),
        ("deep ${{ parameters.missing.a.b }}!", "deep !"),
        ("${{ parameters.nested }}", {"db": {"size": "small"}}),
        ("n=${{ parameters.nested }}", "n=[object Object]"),
        ("r=${{ parameters.ratio }}", "r=2"),
        ("{{ not.rendered }} ${{ parameters.replicas }}", "{{ not.rendered }} 3"),
        ("no expressions", "no expressions"),
    ],
)
def test_interpolation_prints_values_the_javascript_way(text: str, expected: Any) -> None:
    assert render(text) == expected


def test_structures_are_walked_and_keys_left_alone() -> None:
    value = {"${{ parameters.name }}": ["${{ parameters.replicas }}", {"x": 1, "y": True}]}
    assert render(value) == {"${{ parameters.name }}": [3, {"x": 1, "y": True}]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "${{ parameters.repoUrl | parseRepoUrl }}",
            {"host": "github.com", "owner": "acme", "repo": "payments"},
        ),
        ("${{ (parameters.repoUrl | parseRepoUrl).repo }}", "payments"),
        ("${{ parameters.repoUrl | projectSlug }}", "acme/payments"),
        (
            "${{ parameters.owner | parseEntityRef }}",
            {"kind": "group", "namespace": "default", "name": "team-a"},
        ),
        (
            "${{ 'team-b' | parseEntityRef({ defaultKind: 'group', defaultNamespace: 'ops' }) }}",
            {"kind": "group", "namespace": "ops", "name": "team-b"},
        ),
        ("${{ parameters.nested | pick('db.size') }}", "small"),
        ("${{ parameters.nested | dump }}", '{"db":{"size":"small"}}'),
        ("${{ parameters.missing | default('fallback') }}", "fallback"),
        ("${{ '' | default('fallback') }}", ""),
        ("${{ '' | default('fallback', true) }}", "fallback"),
        ("${{ parameters.name | lower | replace('pay', 'PAY') }}", "PAYments"),
        ("${{ parameters.tags | join('-') }}", "python-grpc"),
        ("${{ parameters.tags | first }}", "python"),
        ("${{ parameters.tags | length }}", 2),
        ("${{ 'a\nb' | nl2br }}", "a<br />\nb"),
    ],
)
def test_filters(text: str, expected: Any) -> None:
    assert render(text) == expected


def test_parse_repo_url_refuses_what_is_not_a_repo_url() -> None:
    with pytest.raises(ExpressionError, match="parseRepoUrl"):
        render("${{ 'github.com?owner=acme' | parseRepoUrl }}")


@pytest.mark.parametrize(
    "text",
    [
        "${{ ''.__class__.__mro__ }}",
        "${{ parameters.__class__ }}",
        "${{ cycler.__init__.__globals__ }}",
        "${{ self._TemplateReference__context }}",
        "${{ lipsum.__globals__ }}",
        "${{ parameters.tags.append('x') }}",
        "${{ range(10000000) | list }}",
    ],
)
def test_sandbox_escapes_are_refused(text: str) -> None:
    with pytest.raises(ExpressionError):
        value = render(text)
        # Names removed from the sandbox render as undefined, never as Python internals.
        assert value is None
        raise ExpressionError("undefined")


def test_errors_name_the_expression_and_the_place() -> None:
    with pytest.raises(ExpressionError) as caught:
        templater.render_value("${{ parameters.name | nosuchfilter }}", CONTEXT, where="steps[x]")
    assert "nosuchfilter" in str(caught.value) and caught.value.where == "steps[x]"
    with pytest.raises(ExpressionError, match="cannot render"):
        render("${{ parameters.name( }}")


def test_files_render_with_tags_comments_and_cookiecutter_compat() -> None:
    text = "name: ${{ values.name }}\n{% if values.db %}db: yes\n{% endif %}{# note #}end\n"
    context = {"values": {"name": "svc", "db": True}}
    assert templater.render_text(text, context) == "name: svc\ndb: yes\nend\n"
    assert templater.render_text("{{ cookiecutter.name }}", context, cookiecutter_compat=True) == (
        "svc"
    )
    trimmed = templater.render_text(
        "{% if values.db %}\n  x\n{% endif %}\n", context, trim_blocks=True, lstrip_blocks=True
    )
    assert trimmed == "  x\n"


def test_conditions_are_judged_like_backstage() -> None:
    def cond(value: Any) -> bool:
        return templater.evaluate_condition(value, CONTEXT)

    assert cond(True) and not cond(False)
    assert cond("${{ parameters.enabled }}")
    assert not cond("${{ parameters.missing }}")
    assert not cond("${{ parameters.empty }}")  # an empty array is false, as in isTruthy
    assert cond("${{ parameters.nested }}")
    assert cond("${{ parameters.replicas > 2 }}") and not cond("${{ parameters.replicas > 5 }}")
