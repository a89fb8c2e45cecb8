"""Who the bot knows: a person row per Slack user, made on their first action."""

from __future__ import annotations

import threading

from sqlmodel import Session, select

from bot.core import people
from models import Person
from models.db import session_scope, upgrade


def test_two_first_actions_of_a_new_user_at_once_both_succeed(engine_for) -> None:  # noqa: ANN001
    """The front and the work process (or two work threads) handle a new user's first two clicks at the
    same moment: both find no person; the second insert waits for the first and then skips the row."""
    upgrade(engine_for)
    first_inserted, second_done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def second() -> None:
        try:
            first_inserted.wait(10)
            with session_scope(engine_for) as session:
                assert people.get_or_create(session, "U0NEW00001").user_id == "U0NEW00001"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    with session_scope(engine_for) as session:
        people.get_or_create(session, "U0NEW00001")
        first_inserted.set()
        second_done.wait(0.5)  # the second one is now waiting for this transaction
    thread.join(30)
    assert not errors, errors
    with Session(engine_for) as session:
        assert len(session.exec(select(Person).where(Person.user_id == "U0NEW00001")).all()) == 1
