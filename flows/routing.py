"""The meldroute (reporting route: which partner gets a case) as data, and the routing suggestion.

The data is `meldroute.yaml` beside this file; a region passes its own path. Nothing here sends
anything: `suggest_route` tells the AF whom to approach, the AF decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from flows.cases import Form
from flows.data import DataError, Node, load_yaml

DEFAULT_PATH = Path(__file__).with_name("meldroute.yaml")

# Partner keys the code refers to; a region's file may add others.
AVIM = "avim"  # police: Afdeling Vreemdelingenpolitie, Identificatie en Mensenhandel
ZOCO = "zoco"  # zorgcoördinator mensenhandel: regional care coordinator
NLA = "nla"  # Nederlandse Arbeidsinspectie: labour inspectorate
RIEC = "riec"  # Taskforce RIEC Brabant-Zeeland
VEILIG_THUIS = "veilig-thuis"  # advice and reporting centre for domestic violence and child abuse
JEUGDZORG = "jeugdzorg"  # youth care and child protection (the policy's youth partner)
COMENSHA = "comensha"  # national coordination centre against trafficking
# The region's ketenregisseur (chain director, §3.2), consulted like a partner: whoever holds the
# ketenregisseur role answers (flows.permissions.Actor.partners).
KETENREGISSEUR = "ketenregisseur"


class PartnerKind(StrEnum):
    INTERNAL = "internal"  # a department of the municipality (OOV, Vergunningen…) or the ketenregisseur
    EXTERNAL = "external"  # a partner organisation (police, care, inspectorate…)


@dataclass(frozen=True)
class Partner:
    key: str
    name_nl: str
    name_en: str
    description_nl: str
    description_en: str
    kind: PartnerKind = PartnerKind.EXTERNAL


@dataclass(frozen=True)
class RouteStep:
    """One line of the meldroute: approach `partner` at step `priority` (1 = first)."""

    partner: str
    priority: int
    reason: str
    urgent: bool = False


@dataclass(frozen=True)
class RouteSuggestion:
    """A partner to route to. `order` is 1, 2, ... in the list; `priority` is the step from the
    data (equal priorities are approached together); `urgent` means now (acuut)."""

    partner_key: str
    order: int
    urgent: bool
    reason: str
    priority: int
    possible: bool = False  # only maybe needed ("weet ik niet" of a minor): never ticked in advance


@dataclass(frozen=True)
class Meldroute:
    partners: tuple[Partner, ...]
    routes: tuple[tuple[Form, tuple[RouteStep, ...]], ...]
    acute: tuple[RouteStep, ...]
    minor: tuple[RouteStep, ...]
    minor_possible: tuple[RouteStep, ...]
    consultation: tuple[str, ...]
    source: str

    def partner(self, key: str) -> Partner:
        for partner in self.partners:
            if partner.key == key:
                return partner
        raise KeyError(key)

    def route(self, form: Form) -> tuple[RouteStep, ...]:
        return dict(self.routes)[Form(form)]


def load_meldroute(path: str | Path | None = None) -> Meldroute:
    """Load and validate a meldroute file (the packaged default when `path` is None)."""
    if path is None:
        return _default()
    return _parse(load_yaml(path))


@cache
def _default() -> Meldroute:
    return _parse(load_yaml(DEFAULT_PATH))


def suggest_route(
    form: Form | str, acute: bool, minor: bool, meldroute: Meldroute | None = None, *,
    minor_possible: bool = False,
) -> list[RouteSuggestion]:
    """Partners to route a case to, deduplicated, in the order to approach them.

    Urgent partners (acute) come first, then by priority, then in the order of the data (form route
    before modifiers). A partner named twice keeps its most urgent / earliest entry. `minor_possible`
    ("weet ik niet"; ignored when a minor is involved for sure) adds its partners as "mogelijk".
    """
    data = meldroute or load_meldroute()
    steps = [(s, False) for s in data.route(Form(form))]
    if acute:
        steps += [(s, False) for s in data.acute]
    if minor:
        steps += [(s, False) for s in data.minor]
    elif minor_possible:
        steps += [(s, True) for s in data.minor_possible]
    ranked = sorted(enumerate(steps), key=lambda item: (not item[1][0].urgent, item[1][0].priority, item[0]))
    seen: set[str] = set()
    result: list[RouteSuggestion] = []
    for _, (step, possible) in ranked:
        if step.partner in seen:
            continue
        seen.add(step.partner)
        result.append(
            RouteSuggestion(
                partner_key=step.partner,
                order=len(result) + 1,
                urgent=step.urgent,
                reason=step.reason,
                priority=step.priority,
                possible=possible,
            )
        )
    return result


def preselected(form: Form | str, suggestions: list[RouteSuggestion]) -> list[str]:
    """The partners the route form ticks in advance. For a known form, the meldroute's suggestion
    (Bijlage 1). For "weet ik niet" nobody: the form is not known, so one click must not hand an
    unclear signal to the police; the AF reads the suggestions with their reasons and ticks them.
    A "mogelijk" partner (maybe a minor) is never ticked in advance either."""
    if Form(form) is Form.UNKNOWN:
        return []
    return [s.partner_key for s in suggestions if not s.possible]


def split_handovers(chosen: list[str], already_routed: set[str], send_again: bool) -> tuple[list[str], list[str]]:
    """(to send, refused): a partner that already has this case's hand-over gets it again only when
    the AF explicitly chose to send it again; never twice by accident (a second click, a stale form)."""
    if send_again:
        return list(chosen), []
    return [k for k in chosen if k not in already_routed], [k for k in chosen if k in already_routed]


def consultation_candidates(meldroute: Meldroute | None = None) -> list[Partner]:
    """Partners offered for advice (advies inwinnen) when a signal stays vague."""
    data = meldroute or load_meldroute()
    return [data.partner(key) for key in data.consultation]


_STEP_KEYS = ("partner", "priority", "reason", "urgent")


def _parse(root: Node) -> Meldroute:
    top = root.mapping(allowed=("version", "partners", "routes", "modifiers", "consultation"))
    version = root.child("version").integer(minimum=1)
    if version != 1:
        raise top["version"].error(f"unsupported version {version}; this code reads version 1")

    partners: list[Partner] = []
    for key, node in root.child("partners").mapping().items():
        node.mapping(allowed=("kind", "name_nl", "name_en", "description_nl", "description_en"))
        # `kind` may be left out (a region's older file, a partner organisation): external.
        kind_node = node.optional("kind")
        kind = PartnerKind(kind_node.one_of([k.value for k in PartnerKind])) if kind_node else PartnerKind.EXTERNAL
        partners.append(
            Partner(
                key=key,
                name_nl=node.child("name_nl").text(),
                name_en=node.child("name_en").text(),
                description_nl=node.child("description_nl").text(),
                description_en=node.child("description_en").text(),
                kind=kind,
            )
        )
    if not partners:
        raise root.child("partners").error("at least one partner is needed")
    known = {p.key for p in partners}

    routes_node = root.child("routes")
    routes_map = routes_node.mapping(allowed=[f.value for f in Form])
    routes: list[tuple[Form, tuple[RouteStep, ...]]] = []
    for form in Form:
        if form.value not in routes_map:
            raise DataError(root.file, f"routes.{form.value}", "is missing: every form needs a route")
        routes.append((form, _steps(routes_map[form.value], known)))

    modifiers = root.child("modifiers")
    present = modifiers.mapping(allowed=("acute", "minor", "minor_possible"))
    acute = _steps(modifiers.child("acute"), known)
    minor = _steps(modifiers.child("minor"), known)
    # Optional, for a region's file written before issue 15: no "mogelijk" suggestion then.
    minor_possible = _steps(present["minor_possible"], known) if "minor_possible" in present else ()

    consultation: list[str] = []
    for node in root.child("consultation").items():
        key = _partner_key(node, known)
        if key in consultation:
            raise node.error(f"partner {key!r} is listed twice")
        consultation.append(key)

    return Meldroute(
        partners=tuple(partners),
        routes=tuple(routes),
        acute=acute,
        minor=minor,
        minor_possible=minor_possible,
        consultation=tuple(consultation),
        source=root.file,
    )


def _steps(node: Node, known: set[str]) -> tuple[RouteStep, ...]:
    steps: list[RouteStep] = []
    for item in node.items():
        item.mapping(allowed=_STEP_KEYS)
        urgent = item.optional("urgent")
        step = RouteStep(
            partner=_partner_key(item.child("partner"), known),
            priority=item.child("priority").integer(minimum=1),
            reason=item.child("reason").text(),
            urgent=urgent.flag() if urgent else False,
        )
        if any(s.partner == step.partner for s in steps):
            raise item.error(f"partner {step.partner!r} is listed twice")
        steps.append(step)
    return tuple(steps)


def _partner_key(node: Node, known: set[str]) -> str:
    key = node.text()
    if key not in known:
        raise node.error(f"unknown partner {key!r}; known partners: {sorted(known)}")
    return key
