"""The open contracting data: every package the app serves is valid OCDS 1.1.5 (with the extensions
it declares), passes the OCDS data review (libcoveocds, offline), and carries no personal data;
ids and dates are stable; sealed bids stay sealed; queries stay bounded."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import ocdsmerge
import pytest

from svcproc.extensions import db
from svcproc.ocds import packages
from tests.builders.ocds import build_ocds_world, contract_of, secrets, tender
from tests.ocds.schema import errors, patched_release_schema, require_local_copies

pytestmark = pytest.mark.usefixtures("shared_connection")

PREFIX = "ocds-xxxxxx-"
YEAR = 2025


@pytest.fixture(scope="module")
def built(build_once):
    return build_once(build_ocds_world)


@pytest.fixture
def world(built, clock):
    clock.set(built["built_at"])  # months after the services recorded: their figures are published
    return built


def _ocid(world, key: str) -> str:
    return PREFIX + tender(world, key).number


def _public_keys():
    return ["published", "publicity", "awarded", "cancelled", "failed", "running", "other", "closed", "terminated"]


def _get_json(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    return response, json.loads(response.get_data(as_text=True))


def _every_package(client, world) -> dict[str, dict]:
    """URL -> package, for every package the app serves on the world."""
    found = {}
    url = "/ocds/releases.json"
    while url:
        response, found[url] = _get_json(client, url)
        link = response.headers.get("Link")
        url = re.match(r"<https?://[^/]+(/[^>]+)>", link).group(1) if link else None
    for key in _public_keys():
        ocid = _ocid(world, key)
        for kind in ("releases", "records"):
            url = f"/ocds/{kind}/{ocid}.json"
            found[url] = _get_json(client, url)[1]
    url = f"/ocds/bulk/{YEAR}.json"
    found[url] = _get_json(client, url)[1]
    return found


def _bulk_lines(client) -> list[dict]:
    response = client.get(f"/ocds/bulk/{YEAR}.jsonl")
    assert response.status_code == 200
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


# --- validity ---------------------------------------------------------------------------------------


def test_every_package_is_valid_against_the_schema_with_its_extensions(client, world):
    require_local_copies()
    found = _every_package(client, world)

    for url, package in found.items():
        kind = "record-package" if "records" in package else "release-package"
        assert errors(kind, package) == [], url
    for release in _bulk_lines(client):
        assert errors("release", release) == [], release["id"]


def test_every_release_uses_the_codes_of_the_standard(client, world):
    """Closed codelists are enforced by the schema's enums; the open ones used are checked here."""
    require_local_copies()
    import csv

    from tests.ocds.schema import EXTENSIONS_DIR, STANDARD

    def codes(path):
        with open(path, encoding="utf-8") as f:
            return {row["Code"] for row in csv.DictReader(f)}

    tags = codes(STANDARD / "codelists" / "releaseTag.csv")
    roles = codes(STANDARD / "codelists" / "partyRole.csv")
    documents = codes(STANDARD / "codelists" / "documentType.csv")
    milestones = codes(STANDARD / "codelists" / "milestoneType.csv")
    statistics = codes(EXTENSIONS_DIR / "ocds_bid_extension" / "codelists" / "statistic.csv")
    criteria = codes(EXTENSIONS_DIR / "ocds_awardCriteriaBreakdown_extension" / "codelists" / "awardCriterionType.csv")
    submission = codes(STANDARD / "codelists" / "submissionMethod.csv")

    for release in _bulk_lines(client):
        assert set(release["tag"]) <= tags
        assert {r for p in release["parties"] for r in p["roles"]} <= roles
        tender_ = release.get("tender", {})
        assert set(tender_.get("submissionMethod", [])) <= submission
        assert {d["documentType"] for d in tender_.get("documents", [])} <= documents
        for lot in tender_.get("lots", []):
            assert {c["type"] for c in lot.get("awardCriteria", {}).get("criteria", [])} <= criteria
        assert {s["measure"] for s in release.get("bids", {}).get("statistics", [])} <= statistics
        for contract in release.get("contracts", []):
            for milestone in contract.get("milestones", []):
                assert milestone.get("type", "delivery") in milestones
                assert {d["documentType"] for d in milestone.get("documents", [])} <= documents


def test_the_data_review_finds_nothing_wrong(client, world, offline_cove):
    found = _every_package(client, world)
    checked = [f"/ocds/records/{_ocid(world, 'running')}.json", f"/ocds/releases/{_ocid(world, 'closed')}.json",
               f"/ocds/bulk/{YEAR}.json"]

    for url in checked:
        context = offline_cove(found[url])

        assert context.get("validation_errors") == [], url
        assert not context.get("json_deref_error"), url
        assert context["extensions"]["invalid_extension"] == {}, url
        loaded = context["extensions"]["extensions"]
        assert [e["url"] for e in loaded] == list(packages.EXTENSIONS.values())
        assert all(e["failed_codelists"] == {} for e in loaded)
        assert context.get("additional_closed_codelist_values") == {}, url
        # Only the schemes named here (no international list has them) stand outside the open codelists.
        open_values = {v for entry in context.get("additional_open_codelist_values", {}).values()
                       for v in entry["values"]}
        assert open_values <= {"CN-LAW", "CN-ORGANIZATION-REGISTRATION-TYPE"}, url
        assert context.get("additional_checks", {}) == {}, url
        # Fields outside the schema are the English variations of Chinese texts (OCDS `_en` fields).
        assert {f["field"] for f in context["additional_fields"] if not f["field"].endswith("_en")} == set(), url
        # The one deprecation: documents on milestones, which the milestone documents extension keeps.
        assert {d["field"] for d in context.get("deprecated_fields", [])} <= {"documents"}, url


# --- what is published, and what never is -----------------------------------------------------------


def test_no_package_carries_personal_data(client, world):
    text = "\n".join(json.dumps(p, ensure_ascii=False) for p in _every_package(client, world).values())
    text += client.get(f"/ocds/bulk/{YEAR}.jsonl").get_data(as_text=True)
    planted = secrets(world)
    assert len(planted) > 20

    assert [s for s in planted if s in text] == []
    for field in ('"contactPoint"', '"telephone"', '"email"', '"beneficiar', '"address"'):
        assert field not in text


def test_sealed_bids_are_not_published_before_the_opening(client, world):
    _response, package = _get_json(client, f"/ocds/records/{_ocid(world, 'published')}.json")
    text = json.dumps(package, ensure_ascii=False)

    assert "bids" not in package["records"][0]["compiledRelease"]
    assert [name for name in world["sealed_bidders"] if name in text] == []
    yuan = [str(p // 100) for p in world["sealed_prices"]]
    assert [y for y in yuan if re.search(rf'"amount":{y}\b|"amount": {y}\b', text)] == []


def test_a_draft_tender_has_no_data(client, world):
    for kind in ("releases", "records"):
        assert client.get(f"/ocds/{kind}/{_ocid(world, 'draft')}.json").status_code == 404
    assert client.get(f"/ocds/records/other-prefix-{tender(world, 'awarded').number}.json").status_code == 404
    assert client.get(f"/ocds/records/{PREFIX}1999-ZB-999.json").status_code == 404
    assert client.get(f"/ocds/bulk/{YEAR}.xml").status_code == 404
    ocids = {r["ocid"] for r in _bulk_lines(client)}
    assert _ocid(world, "draft") not in ocids


def test_one_ocid_per_tender_with_the_configured_prefix(client, world):
    lines = _bulk_lines(client)

    assert {r["ocid"] for r in lines} == {_ocid(world, k) for k in _public_keys()}
    ids = [r["id"] for r in lines]
    assert len(ids) == len(set(ids))
    assert all(r["id"].startswith(r["ocid"] + "-") for r in lines)


def test_the_running_contract_tells_its_whole_story(client, world):
    _response, package = _get_json(client, f"/ocds/records/{_ocid(world, 'running')}.json")
    record = package["records"][0]
    suffixes = [r["id"][len(record["ocid"]) + 1:] for r in record["releases"]]
    contract = contract_of(world, "running")
    milestone = contract.milestones[0]
    payment = contract.payments[0]

    assert suffixes == ["tender", "opening", "award-proposed-1", "award", "contract",
                        f"milestone-{milestone.id}-accepted", f"payment-{payment.id}",
                        "contract-amendment-1", "contract-amendment-2", "progress-2025-06"]
    assert [r["date"] for r in record["releases"]] == sorted(r["date"] for r in record["releases"])
    compiled = record["compiledRelease"]
    [awarded] = compiled["contracts"]
    assert awarded["value"] == {"amount": (contract.amount_fen) // 100, "currency": "CNY"}
    assert awarded["period"]["endDate"].startswith("2026-02-28")
    assert [a["id"] for a in awarded["amendments"]] == ["1", "2"]
    [met] = [m for m in awarded["milestones"] if m["id"] == f"milestone-{milestone.id}"]
    assert met["status"] == "met"
    # The report is listed by its kind; the sign-in sheet (which names people) is not listed at all.
    assert [(d["documentType"], d["title"], d["title_en"]) for d in met["documents"]] == [
        ("physicalProgressReport", "报告", "Report")]
    assert awarded["implementation"]["transactions"][0]["value"]["amount"] == payment.amount_fen // 100
    people = next(m for m in awarded["agreedMetrics"] if m["id"] == "target_people")
    assert people["observations"][0]["measure"] == contract.target_people
    supplier = next(p for p in compiled["parties"] if "supplier" in p["roles"])
    assert supplier["identifier"] == {"scheme": "CN-USCC", "id": contract.organization.credit_code,
                                      "legalName": contract.organization.name}
    assert supplier["roles"] == ["tenderer", "supplier", "payee"]
    assert compiled["tender"]["procurementMethodDetails"] == "单一来源"
    assert compiled["tender"]["procurementMethodDetails_en"] == "Single source"


@pytest.mark.parametrize("scale", ["small", "micro", "medium", "large", "unstated"])
def test_a_supplier_is_published_with_the_size_the_bureau_recorded(client, world, scale):
    from svcproc.registry.models import OrgScale

    require_local_copies()
    contract = contract_of(world, "running")
    contract.organization.scale = OrgScale(scale)
    db.session.flush()

    _response, package = _get_json(client, f"/ocds/records/{_ocid(world, 'running')}.json")

    assert errors("record-package", package) == []
    compiled = package["records"][0]["compiledRelease"]
    supplier = next(p for p in compiled["parties"] if "supplier" in p["roles"])
    assert supplier["details"].get("scale") == (None if scale == "unstated" else scale)
    assert "scale" not in next(p for p in compiled["parties"] if "buyer" in p["roles"]).get("details", {})


def test_a_months_services_are_published_in_figures_once_it_has_ended(client, world, clock):
    from svcproc.delivery import progress

    contract = contract_of(world, "running")
    expected = progress.compute(contract.id).by_month["2025-06"]
    url = f"/ocds/releases/{_ocid(world, 'running')}.json"
    clock.set(datetime(2025, 6, 30, 15, 0, tzinfo=timezone.utc))  # 23:00 on 30 June in Shanghai
    before = [r["id"] for r in _get_json(client, url)[1]["releases"]]
    clock.set(datetime(2025, 6, 30, 16, 0, tzinfo=timezone.utc))  # midnight: June has ended

    releases = _get_json(client, url)[1]["releases"]

    assert not any(i.endswith("progress-2025-06") for i in before)
    [month] = [r for r in releases if r["id"].endswith("-progress-2025-06")]
    assert month["date"] == "2025-06-30T16:00:00Z"
    figures = {m["id"]: m["observations"][0]["measure"]
               for m in month["contracts"][0]["implementation"]["metrics"]}
    assert figures == {"activities": expected["activities"], "person_times": expected["person_times"],
                       "hours": float(expected["hours"])}
    assert figures["person_times"] > 0


def test_ended_processes_say_how_they_ended(client, world):
    def compiled(key):
        return _get_json(client, f"/ocds/records/{_ocid(world, key)}.json")[1]["records"][0]["compiledRelease"]

    assert compiled("cancelled")["tender"]["status"] == "cancelled"
    assert compiled("failed")["tender"]["status"] == "unsuccessful"
    closed = compiled("closed")
    assert closed["contracts"][0]["status"] == "terminated"
    assert closed["contracts"][0]["implementation"]["finalValue"] == closed["contracts"][0]["value"]
    assert closed["contracts"][0]["implementation"]["endDateDetails"] == "服务已通过验收。"
    closed_ids = [r["id"].rsplit("-", 2)[-2:] for r in
                  _get_json(client, f"/ocds/releases/{_ocid(world, 'closed')}.json")[1]["releases"]]
    assert closed_ids[-2:] == [["contract", "completed"], ["contract", "closed"]]
    assert compiled("terminated")["contracts"][0]["status"] == "terminated"
    publicity = compiled("publicity")
    assert [a["status"] for a in publicity["awards"]] == ["pending"]
    assert all("rank" in b for b in publicity["bids"]["details"] if b["hasRank"])


def test_a_document_added_after_publication_is_a_tender_amendment(client, world):
    _response, package = _get_json(client, f"/ocds/releases/{_ocid(world, 'published')}.json")
    amendments = [r for r in package["releases"] if r["tag"] == ["tenderAmendment"]]

    assert len(amendments) == 1
    [document] = amendments[0]["tender"]["documents"]
    assert document["title"] == "补充说明"
    assert document["url"].endswith(f"/notices/tenders/{tender(world, 'published').id}/documents/"
                                    f"{document['id'].rsplit('-', 1)[1]}")


def test_release_ids_and_dates_are_stable(client, world, clock):
    first = [(r["id"], r["date"]) for r in _bulk_lines(client)]
    clock.advance(days=30)

    again = [(r["id"], r["date"]) for r in _bulk_lines(client)]

    assert again == first  # no services recorded since: no new month to publish


def test_a_completed_contract_keeps_its_completion_release_when_it_is_closed(client, world, clock):
    from svcproc.audit.services import append_pending
    from svcproc.contracts import workflow as contracts
    from tests.builders.contracts import contract_in, pay_in_full

    setup = contract_in("completed", clock)
    append_pending()
    ocid = PREFIX + setup.contract.tender.number
    url = f"/ocds/releases/{ocid}.json"
    completed = [(r["id"], r["date"]) for r in _get_json(client, url)[1]["releases"]]
    clock.advance(days=20)
    for milestone in setup.milestones:
        pay_in_full(setup, milestone)
    contracts.close_contract(setup.staff, setup.contract)
    append_pending()

    closed = [(r["id"], r["date"]) for r in _get_json(client, url)[1]["releases"]]

    assert completed[-1][0] == f"{ocid}-contract-completed"
    assert closed[:len(completed)] == completed
    assert [i for i, _d in closed[len(completed):]] == (
        [f"{ocid}-payment-{p.id}" for p in setup.contract.payments] + [f"{ocid}-contract-closed"])


def test_compiled_records_merge_as_the_schema_says(client, world):
    """The merge rules kept in the code give the record ocdsmerge compiles from the patched schema."""
    require_local_copies()
    from_schema = ocdsmerge.Merger(schema=patched_release_schema())
    for key in _public_keys():
        _response, package = _get_json(client, f"/ocds/records/{_ocid(world, key)}.json")
        record = package["records"][0]

        assert record["compiledRelease"] == from_schema.create_compiled_release(record["releases"]), key


def test_every_package_declares_the_extensions_it_uses(client, world):
    require_local_copies()
    from tests.ocds.schema import EXTENSIONS_DIR

    for url, package in _every_package(client, world).items():
        assert package["extensions"] == list(packages.EXTENSIONS.values()), url
    for name, url in packages.EXTENSIONS.items():
        assert (EXTENSIONS_DIR / name / "extension.json").exists()
        assert url.endswith(f"/{name}/master/extension.json")


def test_the_paged_list_reaches_every_release(client, world, monkeypatch):
    monkeypatch.setattr(packages, "PAGE", 3)
    seen, pages, url = [], 0, "/ocds/releases.json"
    while url:
        response, package = _get_json(client, url)
        seen += [r["id"] for r in package["releases"]]
        pages += 1
        link = response.headers.get("Link")
        url = re.match(r"<https?://[^/]+(/[^>]+)>", link).group(1) if link else None

    assert pages == 3
    assert sorted(seen) == sorted(r["id"] for r in _bulk_lines(client))


def test_the_notices_page_links_to_the_data(client, world):
    html = client.get("/notices").get_data(as_text=True)
    assert 'href="/ocds/"' in html
    page = client.get("/ocds/").get_data(as_text=True)
    assert f"/ocds/bulk/{YEAR}.json" in page and f"/ocds/bulk/{YEAR}.jsonl" in page


# --- bounded statements --------------------------------------------------------------------------

def test_the_record_endpoint_runs_a_fixed_number_of_statements(client, world, count_queries):
    building, kept = {}, {}
    for key in ("failed", "running", "closed"):
        url = f"/ocds/records/{_ocid(world, key)}.json"
        with count_queries() as counted:
            assert client.get(url).status_code == 200
        building[key] = counted.count
        with count_queries() as counted:
            assert client.get(url).status_code == 200
        kept[key] = counted.count

    # Built the first time: milestones, deliverables, payments and amendments (three, three, none and
    # two of them) cost no statement each; a closed contract adds the one asking when it was
    # accepted; a process without a contract skips the contract's; what was built is kept in one.
    assert building["running"] + 1 == building["closed"] <= 14
    assert building["failed"] < building["running"]
    # Then read as kept, with the fingerprint saying it is current: one statement.
    assert kept == {"failed": 1, "running": 1, "closed": 1}


# Releases not kept yet (the bulk file builds them without keeping them): the tender ids with their
# fingerprints; the tenders with their plans and (proposed) awards, criteria, documents, bids with
# their organizations; the contracts with their organizations, milestones, deliverables,
# amendments, payments; the service figures of their ended months; when closed ones were accepted.
PER_BATCH = 12


@pytest.mark.parametrize("batch", [1, 3, 50])
def test_the_bulk_export_runs_a_fixed_number_of_statements_per_batch(app, world, count_queries, batch):
    tenders = len(_public_keys())
    batches = -(-tenders // batch) + (1 if tenders % batch == 0 else 0)  # a full last batch looks once more

    with app.test_request_context():
        with count_queries() as counted:
            size = sum(len(chunk) for chunk in packages.stream_bulk(YEAR, "http://localhost/x", False, batch))

    assert size > 1000
    assert counted.count <= batches * PER_BATCH
    if batch >= tenders:
        assert counted.count == PER_BATCH
