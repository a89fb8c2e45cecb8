"""Incoming Teams tokens once the signing keys are at hand: checked on the event loop (no thread per
request), with every check the first, fetching, validation makes; a token naming a key the bot does
not hold is not checked on the loop (a fetch there would hold up every request)."""

from __future__ import annotations

import asyncio
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import Settings
from bot.sandbox.fake_teams import FakeTeams
from bot.teams import auth
from bot.teams.auth import IncomingTokens


def test_tokens_are_checked_on_the_loop_once_the_keys_are_cached_and_still_refused_when_wrong(monkeypatch) -> None:
    teams = FakeTeams().start()
    try:
        tokens = IncomingTokens(Settings(teams_app_id=teams.app_id, teams_app_password=teams.app_password,
                                         teams_tenant_id=teams.tenant,
                                         teams_openid_metadata_url=teams.openid_metadata_url))
        good = teams.token()
        assert not tokens._keys_at_hand(good)  # nothing fetched yet: the first check fetches, in a thread
        assert asyncio.run(tokens.claims(f"Bearer {good}", teams.service_url))["aud"] == teams.app_id
        assert tokens._keys_at_hand(good)
        threads: list[object] = []
        real = auth.run_in_threadpool

        async def counted(*args: object) -> object:
            threads.append(args)
            return await real(*args)

        monkeypatch.setattr(auth, "run_in_threadpool", counted)
        assert asyncio.run(tokens.claims(f"Bearer {teams.token()}", teams.service_url))["aud"] == teams.app_id
        assert threads == []

        other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = int(time.time())
        refused = {
            "another audience": teams.token(aud="someone-else"),
            "expired": teams.token(exp=now - 3600, iat=now - 7200, nbf=now - 7200),
            "another issuer": teams.token(iss="https://evil.example"),
            "another service url": teams.token(serviceurl="https://evil.example/"),
            "signed with another key": teams.token(key=other_key),
        }
        for why, token in refused.items():
            assert tokens._keys_at_hand(token), why  # the same key id: checked on the loop …
            assert asyncio.run(tokens.claims(f"Bearer {token}", teams.service_url)) is None, why  # … and refused

        forged = jwt.encode({"aud": teams.app_id}, other_key, algorithm="RS256", headers={"kid": "not-ours"})
        assert not tokens._keys_at_hand(forged)
        assert not tokens._keys_at_hand("garbage")
        assert asyncio.run(tokens.claims(f"Bearer {forged}", teams.service_url)) is None
        assert len(threads) == 1  # the unknown key: looked for in a thread
    finally:
        teams.stop()
