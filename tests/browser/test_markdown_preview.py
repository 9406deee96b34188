"""Write / Preview on Markdown boxes in Chromium (static/js/markdown-preview.js): the pull request's comment box shows
bold text and a list as they will be posted, says when there is nothing to preview, and goes back to Write with the
text and the caret where they were; the arrow keys move between the tabs; the line comment composer the diff brings
in later has the tabs too, and so does the description of a new pull request. Screenshots in light and dark are kept
under var/test/screenshots/. The page fixture fails any test whose page logs an error or breaks the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "Some **bold** words\n\n- one\n- two\n\n<script>window.__xss = 1</script>"


@pytest.fixture
def bob(demo_mirror, login):
    user = demo_mirror.users["bob"]
    user.set_password("demo")
    user.save()
    login("bob")
    return user


def test_preview_the_comment_box_then_write_on(page, live_server, demo_mirror, bob, keep_screenshot):
    pr = demo_mirror.open_pr("api-server")
    page.emulate_media(color_scheme="light")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{pr.number}")
    form = page.locator("details.comment-box")
    form.locator("summary").click()
    box = form.get_by_label("Comment", exact=True)
    write = form.get_by_role("tab", name="Write")
    preview = form.get_by_role("tab", name="Preview")
    panel = form.get_by_role("tabpanel", name="Preview", include_hidden=True)
    expect(write).to_have_attribute("aria-selected", "true")
    expect(panel).to_be_hidden()

    preview.click()  # nothing typed yet
    expect(panel).to_have_text("Nothing to preview.")
    write.click()

    box.fill(TEXT)
    box.evaluate("area => area.setSelectionRange(5, 9)")  # "bold" … selected, as a caret placed by the writer
    keep_screenshot("markdown-comment-write-light", form)
    preview.click()
    expect(preview).to_have_attribute("aria-selected", "true")
    expect(write).to_have_attribute("aria-selected", "false")
    expect(panel.locator("strong")).to_have_text("bold")
    expect(panel.locator("li")).to_have_text(["one", "two"])
    expect(panel).to_contain_text("<script>window.__xss = 1</script>")  # text, never run
    assert page.evaluate("() => window.__xss") is None
    expect(box).to_be_hidden()
    keep_screenshot("markdown-comment-preview-light", form)
    page.emulate_media(color_scheme="dark")
    keep_screenshot("markdown-comment-preview-dark", form)
    page.emulate_media(color_scheme="light")

    write.click()
    expect(box).to_be_visible()
    expect(box).to_be_focused()
    expect(box).to_have_value(TEXT)
    assert box.evaluate("area => [area.selectionStart, area.selectionEnd]") == [5, 9]
    expect(panel).to_be_hidden()

    # The keyboard: arrows move between the tabs and show their panel; the text asked for again is the new one.
    box.press("Control+End")
    box.press_sequentially(" _more_")
    write.focus()
    page.keyboard.press("ArrowRight")
    expect(preview).to_be_focused()
    expect(panel.locator("em")).to_have_text("more")
    page.keyboard.press("ArrowLeft")
    expect(write).to_be_focused()
    expect(box).to_be_visible()
    expect(box).to_have_value(TEXT + " _more_")


def test_the_line_composer_brought_in_later_has_the_tabs(page, live_server, demo_mirror, bob, keep_screenshot):
    pr = demo_mirror.open_pr("api-server")
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/{pr.number}/diff")
    diff_file = page.locator("#pr-diff details.diff-file").first
    diff_file.get_by_role("button", name="Comment on new line 1").first.click()
    composer = diff_file.locator("form.inline-composer")
    composer.get_by_label("Comment").fill("1. first\n2. *second*")
    composer.get_by_role("tab", name="Preview").click()
    panel = composer.get_by_role("tabpanel", name="Preview")
    expect(panel.locator("ol li em")).to_have_text("second")
    keep_screenshot("markdown-inline-composer-preview-dark", composer)
    composer.get_by_role("tab", name="Write").click()
    expect(composer.get_by_label("Comment")).to_have_value("1. first\n2. *second*")


def test_preview_the_description_of_a_new_pull_request(page, live_server, demo_mirror, bob, keep_screenshot):
    page.emulate_media(color_scheme="light")
    page.goto(f"{live_server.url}/acme/api-server/pull-requests/new")
    description = page.get_by_label("Description")
    text = "## Why\n\nBecause `it` matters.\n\n> Quoted.\n\n| Before | After |\n| --- | --- |\n| 20 | 100 |"
    description.fill(text)
    page.get_by_role("tab", name="Preview").click()
    panel = page.get_by_role("tabpanel", name="Preview")
    expect(panel.locator("h2")).to_have_text("Why")
    expect(panel.locator("code")).to_have_text("it")
    expect(panel.locator("blockquote")).to_have_text("Quoted.")
    expect(panel.locator("td")).to_have_text(["20", "100"])
    keep_screenshot("markdown-description-preview-light", page.locator("#pr-form"))
    page.get_by_role("tab", name="Write").click()
    expect(description).to_have_value(text)
