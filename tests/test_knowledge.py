"""/signaal info: the knowledge the policy asks to spread, from data (flows/knowledge.yaml), in the person's
language, with only the numbers the domain notes give; a region's own file that is wrong stops start-up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flows import knowledge
from flows.data import DataError
from tests.helpers import REPORTER

# shared/domain/README.md: 112 first; "Other numbers the bot may show".
KNOWN_NUMBERS = {"112", "0900-8844", "0800-2000", "0800-5151", "0800-7000"}


def _texts(k: knowledge.Knowledge) -> list[str]:
    return [t for s in k.sections for t in (s.title, s.text or "", *s.points)]


def test_the_packaged_knowledge_covers_what_the_policy_asks_to_spread() -> None:
    k = knowledge.load()
    assert [s.key for s in k.sections] == ["definition", "signals", "forms", "prostitution", "non_punishment",
                                           "learn_more", "hotlines"]
    text = " ".join(_texts(k))
    for needed in ("coercion", "sextortion", "cutting cannabis", "phone contracts", "not a signal",
                   "must not be punished", "signaalkaarten", "e-learning", "Veilig Thuis", "CoMensha",
                   "Meld Misdaad Anoniem", "Centrum Seksueel Geweld", "Meldpunt Uitbuiting Minderjarigen",
                   "Zorgcoördinatoren"):
        assert needed in text, needed
    assert len(next(s.points for s in k.sections if s.key == "signals")) == 4


def test_every_number_the_knowledge_shows_is_one_the_domain_gives() -> None:
    numbers = set(re.findall(r"\b(?:112|0[89]00-\d{4})\b", " ".join(_texts(knowledge.load()))))
    assert numbers == KNOWN_NUMBERS


def test_a_regions_file_with_a_mistake_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "knowledge.yaml"
    path.write_text("version: '1'\nsections:\n  - key: a\n    title: A\n  - key: a\n    title: B\n    text: x\n",
                    encoding="utf-8")
    with pytest.raises(DataError, match=r"sections\[0\]: needs a text or points"):
        knowledge.for_region(tmp_path)
    path.write_text("version: '1'\nsections:\n  - key: a\n    title: A\n    text: x\n  - key: a\n    title: B\n"
                    "    text: y\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"sections\[1\]\.key: 'a' appears twice"):
        knowledge.for_region(tmp_path)
    path.write_text("version: '1'\nsections:\n  - key: own\n    title: Ons meldpunt\n    text: Bel 0123-456789\n",
                    encoding="utf-8")
    assert [s.title for s in knowledge.for_region(tmp_path).sections] == ["Ons meldpunt"]


def test_info_answers_privately_in_dutch_and_help_points_to_it(running) -> None:
    resp = running.driver.slash(REPORTER, text="info")
    body = resp.body
    assert resp.status == 200 and "Wat is mensenhandel?" in body and "Prostitutie is geen mensenhandel" in body
    assert "non-punishmentbeginsel" in body and "hennep knippen" in body and "0800-2000" in body
    assert '"response_type": "in_channel"' not in body.replace("'", '"')
    assert "/signaal info" in running.driver.slash(REPORTER, text="help").body
    assert running.driver.slash(REPORTER, text="kennis").body == body


def test_info_in_english_for_an_english_speaking_person_from_the_first_contact(running) -> None:
    running.fake.add_user("erik", user_id="U0ENG00009", real_name="Erik English", locale="en-US")
    body = running.driver.slash("U0ENG00009", text="info").body
    assert "What is human trafficking?" in body and "Prostitution is not human trafficking" in body
