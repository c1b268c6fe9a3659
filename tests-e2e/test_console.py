"""The admin console in a real browser (Debian's Chromium driven by Playwright) against the stack as
`make run` starts it: the journeys a person makes, each leaving a screenshot in its tmp_path."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
import urllib3
from playwright.sync_api import Browser, Page, expect, sync_playwright

from quintet_testing import eventually_blocking
from quintet_testing.http import bearer

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("QUINTET_CHROMIUM", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    subprocess.run(["bash", str(ROOT / "deploy" / "ensure-chromium.sh")], check=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(
    page: Page, gateway: str, scopes: set[str] | None = None, sub: str = "e2e-admin", companies: str = "1"
) -> None:
    """The development sign-in with the scopes picked (all of them when None)."""
    page.goto(f"{gateway}/console/")
    form = page.get_by_test_id("dev-sign-in")
    expect(form).to_be_visible()
    if scopes is not None:
        for box in form.locator("input[name=scope]").all():
            box.set_checked(box.get_attribute("value") in scopes)
    form.locator("input[name=sub]").fill(sub)
    form.locator("input[name=companies]").fill(companies)
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def api(stack, method: str, path: str, scope: str, body: object = None) -> tuple[int, object]:
    response = urllib3.request(
        method,
        f"{stack.gateway}{path}",
        headers={**bearer(scope), "Content-Type": "application/json"},
        body=None if body is None else json.dumps(body),
        timeout=10,
    )
    return response.status, response.json() if response.data else None


def test_a_segment_is_created_changed_and_deleted_in_the_console(stack, page: Page, tmp_path: Path) -> None:
    slug = f"CONSOLE_{int(time.time() * 1000)}"
    sign_in(page, stack.gateway)
    page.goto(f"{stack.gateway}/console/#/segments")

    create = page.get_by_test_id("create-segment")
    create.locator("input[name=slug]").fill(slug.lower())
    create.locator("input[name=percent]").fill("10")
    create.get_by_role("button", name="Create").click()
    row = page.locator(f"tr[data-slug='{slug}']")
    expect(row).to_be_visible()
    expect(row.get_by_label("Rollout %")).to_have_value("10")

    row.get_by_label("Rollout %").fill("25")
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_role("button", name="Save")).to_be_disabled()
    assert {"slug": slug, "percent": 25.0} in [
        {"slug": s["slug"], "percent": s["percent"]}
        for s in api(stack, "GET", "/segments/api/v1/segments", "segments:read")[1]
    ]

    # A bad slug: the envelope's message is shown next to the field it names.
    create.locator("input[name=slug]").fill("not a slug!")
    create.get_by_role("button", name="Create").click()
    expect(create.locator(".field-error[data-field=slug]")).to_be_visible()

    # A user put in the segment by hand, then the user's history report downloaded when ready.
    user = str(int(time.time() * 1000) % 2_000_000_000)
    lookup = page.get_by_test_id("user-lookup")
    lookup.get_by_label("User id").fill(user)
    lookup.get_by_role("button", name="Look up").click()
    expect(lookup).to_contain_text(f"User {user} is in no segment.")
    lookup.get_by_label("Add segments").fill(slug)
    lookup.get_by_role("button", name="Add").click()
    expect(lookup.locator(".chips")).to_contain_text(slug)
    report = page.get_by_test_id("history-report")
    report.get_by_label("User id").fill(user)
    report.get_by_role("button", name="Request the report").click()
    with page.expect_download() as download_info:
        report.get_by_role("button", name="Download the report").click(timeout=30_000)
    csv = tmp_path / "history.csv"
    download_info.value.save_as(csv)
    assert csv.read_text().splitlines()[1].split(";")[:3] == [user, slug, "add"]
    page.screenshot(path=tmp_path / "segments.png", full_page=True)

    row.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(slug)
    dialog.get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    slugs = [s["slug"] for s in api(stack, "GET", "/segments/api/v1/segments", "segments:read")[1]]
    assert slug not in slugs


def test_a_403_is_shown_when_signed_in_without_the_scope(stack, page: Page, tmp_path: Path) -> None:
    sign_in(page, stack.gateway, scopes={"segments:read"}, sub="e2e-reader")
    page.goto(f"{stack.gateway}/console/#/segments")
    create = page.get_by_test_id("create-segment")
    create.locator("input[name=slug]").fill("READ_ONLY_TRY")
    create.get_by_role("button", name="Create").click()
    alert = create.get_by_role("alert")
    expect(alert).to_have_attribute("data-status", "403")
    expect(alert).to_contain_text("Forbidden")
    page.screenshot(path=tmp_path / "forbidden.png", full_page=True)

    # Without goals:admin the goals screen says so too, and the layout holds at a phone's width.
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="☰").click()
    page.get_by_role("link", name="Personal goals").click()
    expect(page.get_by_role("alert").first).to_have_attribute("data-status", "403")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=tmp_path / "forbidden-phone.png", full_page=True)


def test_a_goals_upload_is_followed_to_100_percent(stack, page: Page, tmp_path: Path) -> None:
    selection = f"console-{int(time.time() * 1000)}"
    now = datetime.now(UTC).replace(microsecond=0)
    rows = 25_000  # three chunks of the default 10,000: the bar moves as each commits
    lines = [
        json.dumps(
            {
                "selection_id": selection,
                "goal_id": f"g{i}",
                "yandex_uid": f"uid-{i}",
                "conditions": {"type": "ride", "count": 5},
                "bonus": {"type": "promocode"},
                "application": "taximeter",
                "starts_at": now.isoformat(),
                "expires_at": (now + timedelta(days=7) if i % 1000 else now - timedelta(days=1)).isoformat(),
            }
        )
        for i in range(rows)
    ]
    s3 = boto3.client(
        "s3",
        endpoint_url=stack.s3_endpoint,
        aws_access_key_id=stack.env["QUINTET_S3_ACCESS_KEY"],
        aws_secret_access_key=stack.env["QUINTET_S3_SECRET_KEY"],
        region_name="us-east-1",
    )
    bucket = "goals-datasets"  # the service reads datasets from its own bucket only
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_object(Bucket=bucket, Key=f"{selection}.jsonl", Body="\n".join(lines).encode())
    table = f"s3://{bucket}/{selection}.jsonl"

    sign_in(page, stack.gateway)
    page.goto(f"{stack.gateway}/console/#/goals")
    upload = page.get_by_test_id("goals-upload")
    upload.locator("input[name=table]").fill(table)
    upload.get_by_role("button", name="Validate").click()
    expect(page.get_by_test_id("validation")).to_contain_text(f"{rows} rows")
    upload.get_by_role("button", name="Apply").click()

    progress = page.get_by_test_id("upload-progress")
    bar = progress.locator(f"[data-selection='{selection}'] [role=progressbar]")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    expect(progress).to_have_attribute("data-status", "partially_completed")
    expect(page.get_by_test_id("skipped-goals")).to_contain_text("expires before it starts")
    page.screenshot(path=tmp_path / "goals-upload.png", full_page=True)

    listed = page.get_by_test_id("selections").locator(f"tr[data-selection='{selection}']")
    expect(listed).to_contain_text("hidden")
    listed.get_by_role("button", name="Activate").click()
    expect(listed).to_contain_text("active")
    status, body = api(stack, "GET", f"/personal-goals/internal/admin/selections/{selection}", "goals:admin")
    assert (status, body["status"], body["goals"], body["skipped"]) == (200, "active", rows - 25, 25)


def test_the_console_speaks_russian_and_every_dictionary_has_every_key(stack, page: Page) -> None:
    sign_in(page, stack.gateway)
    page.get_by_label("Language").select_option("ru")
    expect(page.get_by_role("navigation").get_by_role("link", name="Сегменты")).to_be_visible()
    missing = page.evaluate(
        """async () => {
            const { DICTIONARIES } = await import('/console/js/i18n.js');
            const en = Object.keys(DICTIONARIES.en), ru = Object.keys(DICTIONARIES.ru);
            return [en.filter((k) => !ru.includes(k)), ru.filter((k) => !en.includes(k))];
        }"""
    )
    assert missing == [[], []]
    assert re.search("Обновить", page.content())


SCREENS = ["segments", "goals", "posm", "vrs", "mentorship"]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280px", "phone"])
def test_every_screen_opens_without_a_script_error_and_fits_the_width(
    stack, page: Page, tmp_path: Path, viewport: dict[str, int]
) -> None:
    page.set_viewport_size(viewport)
    sign_in(page, stack.gateway)
    for screen in SCREENS:
        page.goto(f"{stack.gateway}/console/#/{screen}")
        expect(page.locator("main h1")).to_be_visible()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], screen
        page.screenshot(path=tmp_path / f"{screen}.png", full_page=True)


def _a6_pdf() -> bytes:
    """A one-page A6 PDF with a line of text, written by hand (no PDF library in the test)."""
    content = b"BT /F1 18 Tf 40 380 Td (Quintet POSM) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 297.64 419.53] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.skipif(
    not (ROOT / "services" / "posm").exists(), reason="the posm service is not in this checkout"
)
def test_a_posm_generation_is_made_from_the_dialog_followed_to_done_and_its_archive_opened(
    stack, page: Page, tmp_path: Path
) -> None:
    import uuid
    import zipfile

    place_id = str(uuid.uuid4())
    tables = [{"id": str(uuid.uuid4()), "label": label} for label in ("1", "2", "3")]
    place = {"name": "Console café", "brand_id": None, "tables": tables}
    assert api(stack, "PUT", f"/posm/api/v1/places/{place_id}", "posm:write", place)[0] == 200
    settings = {
        "page": 1,
        "qr": {"x": 90, "y": 60, "size": 120},
        "text": {"x": 148, "y": 230, "font_size": 20, "align": "center", "format": "Стол {label}"},
    }
    metadata = {
        "name": f"A6 {place_id[:8]}",
        "settings": settings,
        "visibility": "restaurant",
        "place_ids": [place_id],
    }
    response = urllib3.request(
        "POST",
        f"{stack.gateway}/posm/api/v1/templates",
        headers=bearer("posm:write"),
        fields={
            "file": ("a6.pdf", _a6_pdf(), "application/pdf"),
            "metadata": ("metadata.json", json.dumps(metadata).encode(), "application/json"),
        },
        timeout=10,
    )
    assert response.status == 201, response.data
    template_id = response.json()["id"]

    sign_in(page, stack.gateway)
    page.goto(f"{stack.gateway}/console/#/posm")
    page.get_by_role("tab", name="Places and tables").click()
    page.locator("input[name=place_id]").fill(place_id)
    page.get_by_role("button", name="Open", exact=True).click()
    editor = page.get_by_test_id("place-editor")
    expect(editor).to_contain_text("Console café")
    editor.get_by_role("button", name="Generations →").click()

    page.get_by_test_id("open-generate").click()
    dialog = page.get_by_test_id("generate-dialog")
    dialog.locator("select[name=template_id]").select_option(str(template_id))
    expect(dialog.get_by_test_id("template-preview")).to_be_visible()
    # The page itself under the QR and label outline, as the service renders it.
    expect(dialog.get_by_test_id("template-preview")).to_have_attribute("data-page-picture", "shown")
    dialog.get_by_label("QR size").fill("110")  # an override of the recommended 120
    dialog.get_by_test_id("generate").dblclick()
    expect(dialog).to_have_count(0)

    row = page.get_by_test_id("generations").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "done", timeout=90_000)
    status, history = api(stack, "GET", f"/posm/api/v1/places/{place_id}/generations", "posm:read")
    assert status == 200 and [g["version"] for g in history["items"]] == [1], history
    page.screenshot(path=tmp_path / "posm-generations.png", full_page=True)

    # A table removed after the generation: the download asks first, naming it.
    place["tables"] = tables[:2]
    assert api(stack, "PUT", f"/posm/api/v1/places/{place_id}", "posm:write", place)[0] == 200
    row.get_by_role("button", name="Download").click()
    check = page.get_by_test_id("archive-check")
    expect(check).to_contain_text("removed (still in the archive): 3")
    page.screenshot(path=tmp_path / "posm-archive-check.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download anyway").click()
    archive = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(archive)
    with zipfile.ZipFile(archive) as opened:
        assert sorted(opened.namelist()) == ["1.pdf", "2.pdf", "3.pdf"]
        assert all(opened.read(name).startswith(b"%PDF") for name in opened.namelist())


def _solved_task(stack, company: int) -> str:
    """A task the solver stand-in has solved: two orders of this company, one vehicle."""
    day = datetime.now(UTC).date().isoformat()
    task = {
        "depot": {"id": "depot", "point": {"lat": 55.75, "lon": 37.6}, "time_window": "07:00-22:00"},
        "locations": [
            {
                "id": f"c{company}-{n}",
                "point": {"lat": 55.75 + n / 100, "lon": 37.6},
                "time_window": "09:00-18:00",
            }
            for n in (1, 2)
        ],
        "vehicles": [{"id": 1, "ref": "van"}],
        "options": {"date": day, "time_zone": 3, "solver_time_limit_s": 1},
    }
    answer = urllib3.request("POST", f"{stack.stand_ins}/vrs/api/v1/add/mvrp", json=task, timeout=10)
    assert answer.status == 202, answer.data
    task_id = str(answer.json()["id"])
    eventually_blocking(
        lambda: urllib3.request("GET", f"{stack.stand_ins}/vrs/api/v1/result/mvrp/{task_id}").status == 200,
        timeout=60,
        interval=0.3,
    )
    return task_id


def test_a_solved_task_is_previewed_imported_and_listed_in_the_import_history(
    stack, page: Page, tmp_path: Path
) -> None:
    company = int(time.time()) % 100_000 + 700_000  # a company of this run: an empty history
    task_id = _solved_task(stack, company)
    sign_in(page, stack.gateway, {"vrs:read", "vrs:import"}, companies=str(company))
    page.goto(f"{stack.gateway}/console/#/vrs")
    expect(page.get_by_text("This company has no imports yet.")).to_be_visible()

    form = page.get_by_test_id("vrs-import")
    form.locator("input[name=task_id]").fill(task_id)
    form.get_by_role("button", name="Preview conflicts").click()
    expect(page.get_by_test_id("vrs-conflicts")).to_be_visible()
    form.get_by_role("button", name="Import").click()

    progress = page.get_by_test_id("vrs-progress")
    expect(progress).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(page.get_by_test_id("vrs-routes").locator("tbody tr")).to_have_count(1)
    history = page.get_by_test_id("vrs-history").locator("tbody tr")
    expect(history).to_have_count(1)
    expect(history).to_contain_text(task_id)
    expect(history).to_contain_text("completed")
    page.screenshot(path=tmp_path / "vrs-import.png", full_page=True)


def test_a_matching_is_found_by_its_driver_and_its_timeline_read_after_a_job_run(
    stack, page: Page, tmp_path: Path
) -> None:
    driver_id = f"console-{int(time.time() * 1000)}"
    newbie = {"park_id": "park-msk-1", "driver_id": driver_id}
    world = {
        "unique_driver_id": f"udid-{driver_id}",
        "profiles": [newbie],
        "first_name": "Вера",
        "phone": "+79005550199",
        "hired_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(),
        "point": {"lat": 55.75, "lon": 37.62},
        "city": "Москва",
        "rented": False,
    }
    assert urllib3.request("POST", f"{stack.stand_ins}/_stand-in/drivers", json=world).status == 201
    accepted = urllib3.request(
        "POST",
        f"{stack.gateway}/contractor-mentorship/driver/v1/mentorship/accept",
        headers=bearer("mentorship:driver", sub=driver_id, **newbie),
    )
    assert accepted.status == 201, accepted.data
    matching_id = accepted.json()["id"]

    def status() -> str:
        found = api(
            stack, "GET", f"/contractor-mentorship/internal/admin/matchings/{matching_id}", "mentorship:admin"
        )
        return str(found[1]["status"])  # type: ignore[index]

    eventually_blocking(lambda: status() == "requested", timeout=60, interval=0.3)  # filed in the CRM's table
    assert urllib3.request("POST", f"{stack.stand_ins}/_stand-in/crm/match").status == 200

    sign_in(page, stack.gateway, {"mentorship:admin"})
    page.goto(f"{stack.gateway}/console/#/mentorship")
    filters = page.get_by_test_id("matching-filters")
    filters.get_by_label("Driver id").fill(driver_id)
    filters.get_by_role("button", name="Filter").click()
    row = page.get_by_test_id("matchings").locator("tbody tr")
    expect(row).to_have_count(1)  # requested, or further already: the stack's schedule runs the import too

    page.get_by_role("button", name="Import matchings now").click()
    # Done, or 409 when the schedule happens to run the same job at that moment: either is an answer.
    answered = page.get_by_test_id("job-result").or_(page.locator("div.alert[data-status='409']"))
    expect(answered).to_be_visible(timeout=60_000)
    eventually_blocking(
        lambda: status() == "initialized", timeout=60, interval=0.3
    )  # the job, or its schedule
    page.get_by_role("button", name="Refresh").click()
    expect(row).to_contain_text("initialized")
    row.click()
    timeline = page.get_by_test_id("matching").locator("ol.timeline li")
    expect(timeline).to_have_count(4)  # created, requested, matched by the CRM, both drivers told
    expect(timeline.last).to_contain_text("initialized")
    page.screenshot(path=tmp_path / "mentorship-matching.png", full_page=True)
