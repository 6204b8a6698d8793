"""Sphinx extension of the book: keep every page free of console errors and of other hosts.

* Thebe is off in this book, but the ``sphinx_thebe`` extension that Jupyter Book 1 always
  loads still injects its config script (twice, which raises "Identifier 'THEBE_JS_URL' has
  already been declared") naming a CDN URL. Remove those scripts from every page.
* pydata-sphinx-theme reports "Got invalid theme mode" on a reader's first visit (empty
  localStorage); start such a visit in ``auto`` mode instead.
"""

from __future__ import annotations

THEME_MODE_FIX = 'if (!document.documentElement.dataset.mode) { document.documentElement.dataset.mode = "auto"; }'


def _is_thebe(script) -> bool:
    filename = getattr(script, "filename", None) or ""
    body = (getattr(script, "attributes", {}) or {}).get("body", "") or ""
    return "thebe" in filename or "THEBE_JS_URL" in body


def _drop_thebe_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        context["script_files"] = [s for s in scripts if not _is_thebe(s)]


def setup(app):
    app.add_js_file(None, body=THEME_MODE_FIX, priority=1)
    app.connect("html-page-context", _drop_thebe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
