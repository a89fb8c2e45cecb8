"""The trainings section of App Home, and changing a training: yes-sayers hear of it once."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot.core import access
from bot.slack.training import home_section
from tests.training_helpers import (
    AF,
    KR,
    NET1,
    NET2,
    answer,
    count_texts,
    everything,
    in_days,
    invitations,
    plan_in_modal,
    settle,
    start_of_test,
    submit,
    wait_invitation,
)


def _publish_home(r, user: str) -> dict:  # noqa: ANN001
    with Session(r.core.engine) as session:
        actor = access.actor(session, user)
    blocks = [b for fn in r.bot.slack.registry.home_sections for b in fn(r.bot.slack, user, actor)]
    return r.bot.client.views_publish(user_id=user, view={"type": "home", "blocks": blocks})["view"]


def test_app_home_shows_trainings_with_answer_buttons_and_a_new_training_button_for_organisers(running) -> None:
    r = running
    assert home_section in r.bot.slack.registry.home_sections
    base = start_of_test()
    r.core.clock.set(base)
    errors, _view = plan_in_modal(r, KR, starts=in_days(base, 20, 10), ends=in_days(base, 20, 12))
    assert errors == {}
    home = _publish_home(r, NET1)
    assert "FairWork-training" in str(home["blocks"]) and "training:new" not in str(home["blocks"])
    resp = r.driver.click_in_view(NET1, home["id"], "training:yes")
    assert resp.status == 200
    settle(r)
    r.fake.wait_for(lambda: "Je komt." in everything(wait_invitation(r, NET1)) or None)

    home = _publish_home(r, AF)
    assert "training:new" in str(home["blocks"])
    resp = r.driver.click_in_view(AF, home["id"], "training:new")
    assert resp.status == 200
    view = r.fake.wait_for(lambda: (r.fake.views_for(AF) or [None])[-1])
    assert view["callback_id"] == "training:create"


def test_a_changed_training_is_told_once_to_those_who_said_yes(running) -> None:
    r = running
    base = start_of_test()
    r.core.clock.set(base)
    starts, ends = in_days(base, 20, 10), in_days(base, 20, 12)
    plan_in_modal(r, KR, starts=starts, ends=ends)
    settle(r)
    answer(r, NET1, "training:yes")
    answer(r, NET2, "training:no")
    home = _publish_home(r, KR)
    resp = r.driver.click_in_view(KR, home["id"], "training:edit")
    assert resp.status == 200
    view = r.fake.wait_for(lambda: (r.fake.views_for(KR) or [None])[-1])
    assert view["callback_id"] == "training:edit"
    later = starts + timedelta(days=1)
    assert submit(r, KR, view, {"starts": {"value": int(later.timestamp())},
                                "ends": {"value": int((later + timedelta(hours=2)).timestamp())},
                                "location": {"value": "Stadskantoor Breda, zaal 5"}}) == {}
    settle(r)
    r.fake.wait_for(lambda: count_texts(r, NET1, "Training gewijzigd") == 1 or None)
    assert count_texts(r, NET2, "Training gewijzigd") == 0
    r.fake.wait_for(lambda: "zaal 5" in everything(invitations(r, NET2)[0]) or None)  # invitations show it
    assert f"<!date^{int(later.timestamp())}^" in everything(invitations(r, NET1)[0])
