"""publiccode.yml follows the publiccode.yml standard, version 0.4 (https://yml.publiccode.tools/,
"The Standard" → schema.core: which keys are mandatory, the allowed values of the enumerated keys,
and the categories list). No validator for the standard is published on PyPI (the reference one,
publiccode-parser, is a Go program), so the keys the standard marks mandatory are checked here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_STATUS = {"concept", "development", "beta", "stable", "obsolete"}
SOFTWARE_TYPE = {"standalone/mobile", "standalone/iot", "standalone/desktop", "standalone/web",
                 "standalone/backend", "standalone/other", "addon", "library", "configurationFiles"}
MAINTENANCE_TYPE = {"internal", "contract", "community", "none"}
# The standard's categories list (version 0.4, categories-list).
_CATEGORIES_LIST = """
accounting agile-project-management applicant-tracking application-development appointment-scheduling backup
billing-and-invoicing blog budgeting business-intelligence business-process-management cad call-center-management
cloud-management collaboration communications compliance-management contact-management content-management crm
customer-service-and-support data-analytics data-collection data-visualization design design-system
digital-asset-management digital-citizenship document-management donor-management e-commerce e-signature
educational-content email-management email-marketing employee-management enterprise-project-management
enterprise-social-networking erp event-management facility-management feedback-and-reviews-management
financial-reporting fleet-management fundraising gamification geographic-information-systems grant-management
graphic-design help-desk hr ide identity-management instant-messaging integrated-library-system
inventory-management it-asset-management it-development it-management it-security it-service-management
knowledge-management learning-management-system marketing mind-mapping mobile-marketing mobile-payment
network-management office online-booking online-community payment-gateway payroll predictive-analysis procurement
productivity-suite project-collaboration project-management property-management real-estate-management
regulations-and-directives remote-support resource-management sales-management seo service-desk
social-media-management survey talent-management task-management taxes-management test-management
time-management time-tracking translation video-conferencing video-editing visitor-management voip
warehouse-management web-collaboration web-conferencing website-builder whistleblowing workflow-management
"""
CATEGORIES = set(_CATEGORIES_LIST.split())


def problems(doc: dict) -> list[str]:
    """Every way `doc` breaks the mandatory part of publiccode.yml 0.4."""
    found: list[str] = []

    def need(value: object, key: str) -> bool:
        if value in (None, "", [], {}):
            found.append(f"{key} is mandatory")
            return False
        return True

    if need(doc.get("publiccodeYmlVersion"), "publiccodeYmlVersion") and doc["publiccodeYmlVersion"] != "0.4":
        found.append("publiccodeYmlVersion must be the string '0.4'")
    need(doc.get("name"), "name")
    if need(doc.get("url"), "url") and not re.match(r"^https?://\S+$", str(doc["url"])):
        found.append("url must be an http(s) URL")
    if "releaseDate" in doc and not re.match(r"^\d{4}-\d{2}-\d{2}$", str(doc["releaseDate"])):
        found.append("releaseDate must be YYYY-MM-DD")
    need(doc.get("platforms"), "platforms")
    if need(doc.get("categories"), "categories"):
        found += [f"unknown category {c!r}" for c in doc["categories"] if c not in CATEGORIES]
    if doc.get("developmentStatus") not in DEVELOPMENT_STATUS:
        found.append(f"developmentStatus must be one of {sorted(DEVELOPMENT_STATUS)}")
    if doc.get("softwareType") not in SOFTWARE_TYPE:
        found.append(f"softwareType must be one of {sorted(SOFTWARE_TYPE)}")
    descriptions = doc.get("description") or {}
    need(descriptions, "description (at least one language)")
    for lang, desc in descriptions.items():
        need(desc.get("shortDescription"), f"description/{lang}/shortDescription")
        if len(desc.get("shortDescription") or "") > 150:
            found.append(f"description/{lang}/shortDescription is longer than 150 characters")
        long = (desc.get("longDescription") or "").strip()
        if long and not 150 <= len(long) <= 10000:
            found.append(f"description/{lang}/longDescription must be 150 to 10000 characters")
    if not any((d.get("longDescription") or "").strip() for d in descriptions.values()):
        found.append("description/[lang]/longDescription is mandatory for at least one language")
    if not any(d.get("features") for d in descriptions.values()):
        found.append("description/[lang]/features is mandatory for at least one language")
    need((doc.get("legal") or {}).get("license"), "legal/license")
    maintenance = doc.get("maintenance") or {}
    if maintenance.get("type") not in MAINTENANCE_TYPE:
        found.append(f"maintenance/type must be one of {sorted(MAINTENANCE_TYPE)}")
    if maintenance.get("type") == "contract":
        need(maintenance.get("contractors"), "maintenance/contractors")
    if maintenance.get("type") in {"internal", "community"} and need(maintenance.get("contacts"),
                                                                     "maintenance/contacts"):
        found += ["maintenance/contacts: every contact needs a name" for c in maintenance["contacts"]
                  if not c.get("name")]
    localisation = doc.get("localisation") or {}
    if not isinstance(localisation.get("localisationReady"), bool):
        found.append("localisation/localisationReady is mandatory (true or false)")
    need(localisation.get("availableLanguages"), "localisation/availableLanguages")
    return found


def load() -> dict:
    return yaml.safe_load((ROOT / "publiccode.yml").read_text(encoding="utf-8"))


def test_publiccode_yml_has_every_mandatory_key_of_the_standard() -> None:
    assert problems(load()) == []


def test_the_check_finds_what_is_missing_or_wrong() -> None:
    doc = load()
    del doc["legal"]
    doc["softwareType"] = "backend"
    doc["categories"] = ["chat-bots"]
    doc["description"]["nl"]["shortDescription"] = "x" * 151
    doc["maintenance"]["contacts"] = []
    assert problems(doc) == [
        "unknown category 'chat-bots'",
        f"softwareType must be one of {sorted(SOFTWARE_TYPE)}",
        "description/nl/shortDescription is longer than 150 characters",
        "legal/license is mandatory",
        "maintenance/contacts is mandatory",
    ]


def test_dutch_and_english_descriptions_and_the_licence_match_the_package() -> None:
    doc = load()
    assert {"nl", "en"} <= set(doc["description"])
    assert {"nl", "en"} <= set(doc["localisation"]["availableLanguages"])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert doc["legal"]["license"] == project["license"] == "EUPL-1.2"
    assert doc["softwareVersion"] == project["version"]


def test_licence_file_is_the_eupl_1_2() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("EUROPEAN UNION PUBLIC LICENCE v. 1.2")
    assert "EUPL © the European Union 2007, 2016" in text
    assert "15. Applicable Law" in text and "Appendix" in text
