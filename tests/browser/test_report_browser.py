"""The headless report in headless Chromium: every embedded view renders, offline, without errors."""

from __future__ import annotations

import re

import pytest

from interp_widgets.report import write_report

# per root: its view class, how many elements it rendered, its height, and the drawn pixels of its canvases
ROOTS = """() => Array.from(document.querySelectorAll('[data-iw-root]')).map((root) => {
  let ink = 0;
  for (const c of root.querySelectorAll('canvas')) {
    if (!c.width || !c.height) continue;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) ink++;
  }
  const level = root.closest('section[data-level]');
  return {view: root.dataset.view, level: level ? level.dataset.level : null,
          elements: root.querySelectorAll('*').length, height: root.getBoundingClientRect().height,
          canvases: root.querySelectorAll('canvas').length, ink,
          text: root.textContent.slice(0, 200)};
})"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return write_report(tmp_path_factory.mktemp("report") / "report.html")


def test_every_view_of_the_report_renders_offline_without_errors(probe, report):
    probe.page.set_viewport_size({"width": 1200, "height": 900})
    probe.open(report)
    probe.page.wait_for_timeout(500)  # views that draw on the next animation frame
    roots = probe.page.evaluate(ROOTS)
    expected = re.findall(r'data-iw-root="\d+" data-view="(\w+)"', report.read_text(encoding="utf-8"))
    assert [r["view"] for r in roots] == expected and len(roots) >= 18
    assert {r["level"] for r in roots} == {"1", "2", "3", "4", "5"}
    for r in roots:
        assert r["elements"] >= 3 and r["height"] > 40, r
        assert "Could not render" not in r["text"], r
        if r["canvases"]:
            assert r["ink"] > 0, r  # its canvases are not blank
    assert probe.errors == [] and probe.console_errors == [], (probe.errors, probe.console_errors)
    assert probe.blocked == []  # nothing was fetched from the network
    assert probe.page.evaluate("window.interpWidgets.models.length") == len(roots)
    assert probe.page.locator("img.iw-figure").count() >= len(roots)
