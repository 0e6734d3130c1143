"""End to end in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against `rag serve`.

Screenshots of every step go to tests/artifacts/ui/ (git-ignored); each test prints where.
Run: pytest -m browser tests/test_ui_browser.py -s
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest_ui import SCRIPT_TITLE, UPLOAD_BROWSER, artifact_path, ui_server, write_upload

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ANSWER_TIMEOUT_MS = 180_000  # the first question on 2 busy cores
EVIL_NAME = "<img src=x onerror=alert(2)>.pdf"


@pytest.fixture(scope="module")
def server():
    return ui_server()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.dialogs = []  # any alert() means a release's script ran
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(server.url)
    page.wait_for_selector("#chat")
    yield page
    context.close()


def shot(page, name: str) -> Path:
    path = artifact_path(name)
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def ask(page, question: str):
    """Type a question, submit, wait for the checked answer; returns the last answer bubble."""
    before = page.locator("#chat .rag-answer .answer-meta").count()
    page.locator("#question textarea").fill(question)
    page.locator("#ask-button").click()
    return wait_for_answer(page, before)


def wait_for_answer(page, answers_before: int):
    page.wait_for_function(
        "n => document.querySelectorAll('#chat .rag-answer .answer-meta').length > n",
        arg=answers_before, timeout=ANSWER_TIMEOUT_MS,
    )
    return page.locator("#chat .rag-answer").last


def test_albania_question_cites_the_kazakh_proposal(page):
    from playwright.sync_api import expect

    expect(page.get_by_text("What did Albania propose?").first).to_be_visible()
    shot(page, "01-empty-chat-with-examples.png")

    page.get_by_text("What did Albania propose?").first.click()  # the example on the empty chat
    # The bubble streams: a status line first, then the checked answer replaces it (a quick answer
    # may replace it before a poll sees it: either will do)
    page.wait_for_selector("#chat .rag-answer.streaming, #chat .rag-answer .answer-meta", timeout=60_000)
    shot(page, "02-answer-streaming.png")
    bubble = wait_for_answer(page, 0)
    shot(page, "03-answer.png")

    text = bubble.inner_text()
    assert "Kazakh side proposed" in text
    # Right answer: the release reports no Albanian proposal; the proposal is Kazakhstan's.
    assert re.search(r"no (Albanian )?proposal|not .*Albania|false premise", text, re.I), text
    assert not re.search(r"\bAlbania(n side)? proposed\b", text), text
    assert "extractive" in bubble.locator(".generator-name").inner_text()

    markers = bubble.locator("a.cite-marker")
    assert markers.count() >= 1
    target = None
    for i in range(markers.count()):
        anchor = markers.nth(i).get_attribute("href").lstrip("#")
        span = page.locator(f"#{anchor} mark.support-span")
        if span.count() and re.search(r"Kazakh side proposed|Intergovernmental Commission", span.inner_text()):
            target = (markers.nth(i), anchor)
            break
    assert target, "no citation marker leads to the Kazakh side's proposal"
    marker, anchor = target

    # Push the card out of view first, so the click has to bring it back.
    page.locator("#sources-panel").evaluate("el => el.scrollTop = el.scrollHeight")
    marker.click()
    card = page.locator(f"#{anchor}")
    expect(card).to_have_class(re.compile(r"\bflash\b"))
    expect(card).to_be_in_viewport()
    highlighted = card.locator("mark.support-span").inner_text()
    assert "Kazakh side proposed" in highlighted and "Intergovernmental Commission" in highlighted
    assert "Kazakh MFA" in card.locator(".source-meta").inner_text()
    assert "2025-03-21" in card.locator(".source-meta").inner_text()
    shot(page, "04-citation-clicked.png")
    assert page.dialogs == []


def test_upload_a_release_then_ask_about_it(page, server, tmp_path):
    from playwright.sync_api import expect

    good = write_upload(tmp_path, UPLOAD_BROWSER)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"this is not a pdf")
    # File names are user input too. Gradio's upload strips <> from an uploaded file's own name,
    # but a zip member's name is ours to show: as text, never run.
    evil = tmp_path / "names.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr(EVIL_NAME, "<script>alert(3)</script> not a pdf")
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload-files input[type=file]").set_input_files([str(good), str(broken), str(evil)])
    expect(page.locator("#upload-files")).to_contain_text(good.stem, timeout=30_000)
    shot(page, "05-upload-chosen.png")
    page.locator("#ingest-button").click()
    expect(page.locator("#ingest-summary")).to_contain_text("passage(s) written", timeout=ANSWER_TIMEOUT_MS)
    results = page.locator("#ingest-result")
    expect(results).to_contain_text(good.name)
    shot(page, "06-upload-results.png")
    # Rows read "file status documents passages problems".
    expect(results.get_by_role("row", name=re.compile(rf"^{re.escape(good.name)} ingested 1 [1-9]"))).to_be_visible()
    bad = results.get_by_role("row", name=re.compile(r"^broken\.pdf failed 0 0 broken\.pdf: not a readable PDF"))
    expect(bad).to_be_visible()
    shown = f"names.zip/{EVIL_NAME}"
    expect(results).to_contain_text(shown)  # as text, whole
    row = results.get_by_role("row").filter(has_text=shown)
    expect(row).to_have_count(1)
    assert row.inner_text().split("\t")[:2] == [shown, "failed"] or "failed" in row.inner_text(), row.inner_text()
    assert page.locator("#ingest-result img, #ingest-result script, #upload-files img").count() == 0
    assert page.dialogs == [], page.dialogs

    page.get_by_role("tab", name="Ask").click()
    bubble = ask(page, "What did Freedonia propose?")
    shot(page, "07-answer-about-upload.png")
    assert "Joint Lighthouse Authority" in bubble.inner_text()
    cards = page.locator("#sources-panel .source-card")
    assert any("Joint Lighthouse Authority" in cards.nth(i).inner_text() for i in range(cards.count()))


def test_release_with_script_tags_renders_as_text(page):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Corpus").click()
    expect(page.locator("#corpus-summary")).to_contain_text("releases", timeout=30_000)
    expect(page.locator("#by-month")).to_be_visible()
    shot(page, "08-corpus.png")
    page.locator("#title-search textarea, #title-search input").first.fill("Embassy note")
    row = page.locator("#documents-table tr.doc-row")
    expect(row).to_have_count(1, timeout=30_000)
    expect(row.locator(".doc-title")).to_have_text(SCRIPT_TITLE)
    assert page.locator("#documents-table script, #documents-table b").count() == 0
    shot(page, "09-corpus-search-script-title.png")

    page.get_by_role("tab", name="Ask").click()
    bubble = ask(page, "What is the Zanzibar Cheese Accord?")
    card = page.locator("#sources-panel .source-card", has_text="Zanzibar Cheese Accord").first
    expect(card.locator(".source-title")).to_have_text(SCRIPT_TITLE)
    assert "<script>alert(1)</script>" in card.locator(".passage").inner_text()
    for where in ("#sources-panel", "#chat"):
        assert page.locator(f"{where} script, {where} b").count() == 0, where
    assert "Zanzibar Cheese Accord" in bubble.inner_text()
    shot(page, "10-script-release-as-text.png")
    assert page.dialogs == [], page.dialogs


def test_a_date_that_is_not_one_is_said_next_to_its_field_and_nothing_is_asked(page):
    from playwright.sync_api import expect

    date_from, date_to = page.locator("#date-from input"), page.locator("#date-to input")
    page.locator("#question textarea").fill("Who led the Kazakh delegation?")
    date_from.fill("2025-02-30")
    page.locator("#ask-button").click()
    expect(page.locator("#date-from div.validation-error")).to_contain_text("From '2025-02-30' is not a real date")
    expect(page.locator("#date-to div.validation-error")).to_have_count(0)
    shot(page, "11-date-error-next-to-the-field.png")
    assert page.locator("#chat .rag-answer").count() == 0  # not asked, and no overlay over the chat
    assert page.locator(".toast-body").count() == 0
    expect(page.locator("#question textarea")).to_have_value("Who led the Kazakh delegation?")  # kept to fix

    date_from.fill("2025-03")
    date_to.fill("2025-02")
    page.locator("#ask-button").click()
    expect(page.locator("#date-to div.validation-error")).to_contain_text("To 2025-02-28 is before From 2025-03-01")
    expect(page.locator("#date-from div.validation-error")).to_have_count(0)

    date_to.fill("2025")  # March 2025 to the end of 2025: the Kazakh release
    bubble = ask(page, "Who led the Kazakh delegation?")
    assert "Vassilenko" in bubble.inner_text()
    expect(page.locator("#date-from div.validation-error, #date-to div.validation-error")).to_have_count(0)
    dates = page.locator("#sources-panel .source-card .source-meta").all_inner_texts()
    assert dates and all("2025-" in d for d in dates), dates
    shot(page, "12-answer-within-the-dates.png")
