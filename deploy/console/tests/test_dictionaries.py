"""All text of the console lives in one dictionary per language: the same keys in each, and every key
the screens name literally exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[1] / "src" / "quintet_console" / "static" / "js"
LANGUAGES = ["en", "ru"]


def dictionary(language: str) -> dict[str, str]:
    text = (JS / "lang" / f"{language}.js").read_text()
    body = re.fullmatch(rf"\s*export const {language} = (\{{.*\}});\s*", text, re.S)
    assert body, f"lang/{language}.js must be `export const {language} = {{...}};` holding a JSON object"
    return dict(json.loads(body.group(1)))


def keys_used() -> set[str]:
    """Keys written out in full (a prefix such as `t("status." + status)` is completed from data)."""
    return {
        key
        for path in JS.rglob("*.js")
        for key in re.findall(r"\bt\(\"([a-z_]+\.[a-z_.]+)\"", path.read_text())
        if not key.endswith(("_", "."))
    }


def test_every_language_has_the_same_keys() -> None:
    en = dictionary("en")
    for language in LANGUAGES[1:]:
        other = dictionary(language)
        assert sorted(set(en) - set(other)) == [], f"missing in {language}"
        assert sorted(set(other) - set(en)) == [], f"only in {language}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_the_screens_use_is_in_the_dictionary(language: str) -> None:
    assert sorted(keys_used() - set(dictionary(language))) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_across_languages(language: str) -> None:
    en, other = dictionary("en"), dictionary(language)
    differing = {
        key: (en[key], other[key])
        for key in en
        if set(re.findall(r"\{\w+\}", en[key])) != set(re.findall(r"\{\w+\}", other[key]))
    }
    assert differing == {}
