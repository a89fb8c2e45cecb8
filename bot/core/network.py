"""Importing the regional network (municipalities, AFs, partners, network members) from YAML.

The whole file is validated before anything changes; then it replaces the configuration in one
transaction, so nothing is ever half-imported.

A person is written as a platform's id (`U0123ABCD` for Slack, `teams:<Entra object id>` or
`teams:29:…` for Teams: bot.core.platforms.PLATFORMS) or as an e-mail address. An e-mail address is
resolved when the file is loaded, by the edge's `lookup` (Slack: users.lookupByEmail), so a typo or
someone not (yet) in the workspace is reported at once and nothing is imported, rather than a role
that silently never reaches anyone; the address is kept as the person's e-mail. A case place
(`channel`) is a Slack channel id (`C0123ABCD`) or `teams:19:…`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlmodel import Session, col, delete, select

from bot.core import people, platforms
from models import Municipality, Partner, Person, RoleAssignment

TOP_KEYS = {"municipalities", "regional", "partners", "network"}
MUNI_KEYS = {"name", "aandachtsfunctionarissen", "backup", "channel"}
PARTNER_KEYS = {"key", "name", "members"}
REGIONAL_KEYS = {"ketenregisseur"}
PERSON_SYNTAX = ", ".join(p.person_example for p in platforms.PLATFORMS)
PLACE_SYNTAX = " or ".join(p.place_example for p in platforms.PLATFORMS)


class NetworkError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class NetworkConfig:
    municipalities: list[dict[str, Any]] = field(default_factory=list)
    ketenregisseurs: list[str] = field(default_factory=list)
    partners: list[dict[str, Any]] = field(default_factory=list)
    network: list[str] = field(default_factory=list)
    emails: dict[str, str] = field(default_factory=dict)  # person key → the e-mail address it was found by


Lookup = Callable[[str], str | None]  # e-mail address → person key (None when unknown)


def parse(text: str, lookup: Lookup | None = None, source: str = "network file") -> NetworkConfig:
    """Validate everything and resolve e-mail addresses; raise NetworkError with every problem."""
    problems: list[str] = []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NetworkError([f"{source}: not valid YAML ({exc})."]) from exc
    if not isinstance(data, dict):
        raise NetworkError([f"{source}: expected a mapping with 'municipalities' (and optionally 'regional', "
                            "'partners', 'network')."])
    for key in sorted(set(data) - TOP_KEYS):
        problems.append(f"{source}: unknown key '{key}' (allowed: {', '.join(sorted(TOP_KEYS))}).")
    cfg = NetworkConfig()

    def users(value: Any, where: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            problems.append(f"{where}: must be a list of user ids or e-mail addresses.")
            return []
        out = []
        for entry in value:
            entry = str(entry).strip()
            if (known := platforms.person_id(entry)) is not None:
                out.append(platforms.person_key(*known))
            elif platforms.EMAIL.match(entry):
                resolved = lookup(entry) if lookup else None
                if resolved:
                    out.append(resolved)
                    cfg.emails.setdefault(resolved, entry)
                else:
                    problems.append(f"{where}: no Slack user found with e-mail address {entry}.")
            else:
                problems.append(f"{where}: {entry!r} is neither a user id ({PERSON_SYNTAX}) nor an e-mail address.")
        return out

    munis = data.get("municipalities")
    if not isinstance(munis, list) or not munis:
        problems.append(f"{source}: 'municipalities' must list at least one municipality.")
        munis = []
    af_owner: dict[str, str] = {}
    names: set[str] = set()
    for i, mu in enumerate(munis):
        where = f"{source}: municipalities[{i}]"
        if not isinstance(mu, dict):
            problems.append(f"{where}: must be a mapping with 'name' and 'aandachtsfunctionarissen'.")
            continue
        for key in sorted(set(mu) - MUNI_KEYS):
            problems.append(f"{where}: unknown key '{key}' (allowed: {', '.join(sorted(MUNI_KEYS))}).")
        name = str(mu.get("name") or "").strip()
        if not name:
            problems.append(f"{where}: 'name' is missing.")
            continue
        where = f"{source}: municipality {name}"
        if name.lower() in names:
            problems.append(f"{where}: listed twice.")
        names.add(name.lower())
        afs = users(mu.get("aandachtsfunctionarissen"), f"{where}, aandachtsfunctionarissen")
        if not afs and not [p for p in problems if p.startswith(f"{where}, aandachtsfunctionarissen")]:
            problems.append(f"{where}: has no aandachtsfunctionaris; every municipality needs at least one.")
        for af in afs:
            if af in af_owner and af_owner[af] != name:
                problems.append(f"{where}: {af} is already aandachtsfunctionaris of {af_owner[af]}; "
                                "a person can be AF of one municipality only.")
            af_owner[af] = name
        backups = users(mu.get("backup"), f"{where}, backup")
        channel = mu.get("channel")
        place = platforms.place_id(str(channel)) if channel is not None else None
        if channel is not None and place is None:
            problems.append(f"{where}: channel {channel!r} must be a channel id such as {PLACE_SYNTAX} (not a name).")
        cfg.municipalities.append({"name": name, "afs": afs, "backups": backups, "place": place})
    regional = data.get("regional") or {}
    if not isinstance(regional, dict):
        problems.append(f"{source}: 'regional' must be a mapping with 'ketenregisseur'.")
        regional = {}
    for key in sorted(set(regional) - REGIONAL_KEYS):
        problems.append(f"{source}: regional: unknown key '{key}' (allowed: ketenregisseur).")
    cfg.ketenregisseurs = users(regional.get("ketenregisseur"), f"{source}: regional.ketenregisseur")
    partners = data.get("partners") or []
    if not isinstance(partners, list):
        problems.append(f"{source}: 'partners' must be a list.")
        partners = []
    keys: set[str] = set()
    for i, p in enumerate(partners):
        where = f"{source}: partners[{i}]"
        if not isinstance(p, dict) or not p.get("key") or not p.get("name"):
            problems.append(f"{where}: needs 'key' and 'name'.")
            continue
        for key in sorted(set(p) - PARTNER_KEYS):
            problems.append(f"{where}: unknown key '{key}' (allowed: key, name, members).")
        key = str(p["key"]).strip().lower()
        if key in keys:
            problems.append(f"{where}: partner key '{key}' is listed twice.")
        keys.add(key)
        cfg.partners.append({"key": key, "name": str(p["name"]),
                             "members": users(p.get("members"), f"{where} ({key}).members")})
    cfg.network = users(data.get("network"), f"{source}: network")
    if problems:
        raise NetworkError(problems)
    return cfg


def apply(session: Session, cfg: NetworkConfig, now: Any) -> dict[str, int]:
    """Replace roles and municipalities with `cfg` (people and their history are kept)."""
    session.exec(delete(RoleAssignment))  # type: ignore[call-overload]
    existing = {m.name: m for m in session.exec(select(Municipality)).all()}
    for mu in cfg.municipalities:
        row = existing.get(mu["name"]) or Municipality(name=mu["name"])
        row.platform, row.conversation = mu["place"] or (platforms.SLACK, None)
        session.add(row)
    session.flush()
    by_name = {m.name: m for m in session.exec(select(Municipality)).all()}
    known_partners = {p.key: p for p in session.exec(select(Partner)).all()}
    for p in cfg.partners:
        row = known_partners.get(p["key"]) or Partner(key=p["key"], name=p["name"])
        row.name = p["name"]
        session.add(row)
        known_partners[p["key"]] = row
    ensure_meldroute_partners(session, known_partners)
    session.flush()

    def person(uid: str) -> Person:
        row = people.get_or_create(session, uid)
        if row.email is None and uid in cfg.emails:
            row.email = cfg.emails[uid]
            session.add(row)
        return row

    counts = {"municipalities": len(cfg.municipalities), "roles": 0, "partners": len(cfg.partners),
              "network": 0}

    def grant(uid: str, role: str, muni_id: int | None = None, partner: str | None = None) -> None:
        session.add(RoleAssignment(user_id=uid, role=role, municipality_id=muni_id, partner_key=partner))
        counts["roles"] += 1

    for mu in cfg.municipalities:
        muni = by_name[mu["name"]]
        for uid in mu["afs"]:
            grant(uid, "af", muni.id)
            p = person(uid)
            p.municipality_id = p.municipality_id or muni.id
            p.network_role = p.network_role or "af"
        for uid in dict.fromkeys(mu["backups"]):
            grant(uid, "backup", muni.id)
            person(uid).network_role = person(uid).network_role or "backup"
    for uid in dict.fromkeys(cfg.ketenregisseurs):
        grant(uid, "ketenregisseur")
        person(uid).network_role = person(uid).network_role or "ketenregisseur"
    for p in cfg.partners:
        for uid in dict.fromkeys(p["members"]):
            grant(uid, "partner", partner=p["key"])
            person(uid).network_role = person(uid).network_role or ("zoco" if p["key"] == "zoco" else "partner")
    wanted = set(cfg.network)
    # Members added or changed in Slack (/signaal netwerk) stay: the file does not overrule them.
    from bot.core.training import forget_member
    from models.training import MemberProfile

    managed_in_slack = set(session.exec(select(MemberProfile.user_id).where(
        col(MemberProfile.updated_by).is_not(None))).all())
    for row in session.exec(select(Person).where(col(Person.in_network).is_(True))).all():
        if row.user_id not in wanted and row.user_id not in managed_in_slack:
            row.in_network, row.left_network_at = False, now
            session.add(row)
            forget_member(session, row.user_id, now)
            counts["left"] = counts.get("left", 0) + 1
    for uid in cfg.network:
        row = person(uid)
        if not row.in_network:
            row.in_network, row.left_network_at = True, None
            counts["network"] += 1
        session.add(row)
    return counts


def ensure_meldroute_partners(session: Session, known: dict[str, Partner] | None = None) -> None:
    """Every partner the meldroute can suggest exists, even when the network file leaves it out
    (then it is a partner reached outside Slack)."""
    from flows.routing import load_meldroute

    known = known if known is not None else {p.key: p for p in session.exec(select(Partner)).all()}
    for partner in load_meldroute().partners:
        if partner.key not in known:
            row = Partner(key=partner.key, name=partner.name_nl)
            session.add(row)
            known[partner.key] = row


def describe(session: Session) -> list[str]:
    lines: list[str] = []
    munis = session.exec(select(Municipality).order_by(col(Municipality.name))).all()
    roles = session.exec(select(RoleAssignment)).all()
    names = {p.user_id: p.name for p in session.exec(select(Person)).all()}

    def who(uid: str) -> str:
        return f"{uid} ({names[uid]})" if names.get(uid) else uid

    for mu in munis:
        afs = [who(r.user_id) for r in roles if r.municipality_id == mu.id and r.role == "af"]
        backups = [who(r.user_id) for r in roles if r.municipality_id == mu.id and r.role == "backup"]
        place = platforms.place_text(mu.platform, mu.conversation) if mu.conversation else "(DM to the AF)"
        lines.append(f"{mu.name}: AF {', '.join(afs) or '-'}; backup {', '.join(backups) or '-'}; channel {place}")
    kr = [who(r.user_id) for r in roles if r.role == "ketenregisseur"]
    lines.append(f"ketenregisseur: {', '.join(kr) or '-'}")
    for p in session.exec(select(Partner).order_by(col(Partner.key))).all():
        members = [who(uid) for uid in people.partner_members(session, p.key)]  # the ketenregisseur answers as one
        lines.append(f"partner {p.key} — {p.name}: {', '.join(members) or '(outside Slack)'}")
    net = session.exec(select(Person).where(col(Person.in_network).is_(True)).order_by(col(Person.user_id))).all()
    lines.append(f"network ({len(net)}): {', '.join(who(p.user_id) for p in net) or '-'}")
    from bot.core.members import members

    for member in members(session):
        lines.append(f"  member {who(member.user_id)}: role {member.role or '-'}, municipality "
                     f"{member.municipality or '-'}, partner {member.partner or '-'}")
    return lines
