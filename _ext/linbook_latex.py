"""Sphinx extension of the book: its PDF edition (LaTeX builder, xelatex).

Active only under the LaTeX builder (``jupyter-book build . --builder pdflatex`` or
``--builder latex``); the HTML pages are untouched.

* ``linbook_latex.sty`` (next to this file) sets the fonts (Noto CJK SC, DejaVu Sans Mono),
  Chinese heading names and numbering; it is copied into the LaTeX folder and loaded last.
* The root page (``intro.md``) becomes the first chapter and every chapter of ``_toc.yml``
  a chapter beside it. Plain Sphinx would take the root page's title as the book's title and
  turn the root page's ``##`` sections into chapters, with the real chapters nested in the
  last of them.
* Cell outputs are cleaned as Jupyter shows them: ANSI escape sequences (colours of
  tracebacks, pip, pytest ...) are dropped, a carriage return starts the line again (a
  progress bar keeps its last state), a backspace deletes; other control characters are
  removed (xelatex stops on them).
* A bibliography stays on the page that holds it (``references.md``) instead of becoming
  an extra chapter at the end of the book with the same title.
* Long inline code in table cells (``CompetitionDataNotFoundError``) may break at a
  CamelCase hump, after ``_`` or ``.``: a narrow column otherwise runs into the next one.
* Links in captions and titles (a citation in a table's caption) get ``\\protect``:
  LaTeX writes those into the list of tables and the bookmarks, where a bare
  ``\\hyperlink`` stops xelatex ("Argument of \\Hy@tempa has an extra }").
* Cells tagged ``hide-input`` show their output without the code, as in the HTML page
  before the reader opens the code; ``hide-cell`` cells (e.g. the checks of an answer)
  are printed in full, since a PDF cannot be unfolded.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.builders.latex.nodes import thebibliography
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

STY = Path(__file__).with_name("linbook_latex.sty")

# CSI sequences (colours, cursor moves: ESC [ ... final byte), OSC sequences (ESC ] ... BEL
# or ESC \) and the two-character escapes (ESC + one byte).
_ANSI_RE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
# What is left of the C0 controls (and DEL) after \n, \t, \r and \b are handled.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def terminal_text(text: str) -> str:
    """Return ``text`` as Jupyter shows it, without escape sequences or control characters.

    >>> terminal_text("\\x1b[31mError\\x1b[0m: 10%\\r100%\\nab\\bc")
    'Error: 100%\\nac'
    """
    text = _ANSI_RE.sub("", text)
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            # a progress bar: every \r starts the line again; keep the last non-empty state
            parts = [p for p in line.split("\r") if p]
            line = parts[-1] if parts else ""
        if "\b" in line:
            chars: list[str] = []
            for ch in line:
                if ch == "\b":
                    if chars:
                        chars.pop()
                else:
                    chars.append(ch)
            line = "".join(chars)
        lines.append(line)
    return _CONTROL_RE.sub("", "\n".join(lines))


class CleanTerminalOutput(SphinxPostTransform):
    """Strip escape sequences and control characters from code and output blocks."""

    default_priority = 50
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        for node in self.document.findall(nodes.literal_block):
            text = node.astext()
            clean = terminal_text(text)
            if clean == text:
                continue
            # the LaTeX writer highlights node.rawsource when it equals the text
            node.rawsource = clean
            node.children = [nodes.Text(clean)]


class LabelExercisesForReferences(SphinxPostTransform):
    """Give every exercise the label that ``{ref}`` to it points at in LaTeX.

    sphinx-exercise labels an exercise ``exercise:<label>``, but a ``{ref}`` from another
    page (2.3.1 citing 2.2's exercises) is written as ``<docname>:<label>``: add that label
    next to sphinx-exercise's own, so that the reference resolves.
    """

    default_priority = 50
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        registry = getattr(self.env, "sphinx_exercise_registry", {})
        for node in list(self.document.findall(nodes.Element)):
            if type(node).__name__ not in ("exercise_node", "exercise_enumerable_node"):
                continue
            label = node.attributes.get("label")
            docname = (registry.get(label) or {}).get("docname")
            if label and docname and node.parent is not None:
                target = rf"\phantomsection\label{{{docname}:{label}}}"
                node.parent.insert(node.parent.index(node), nodes.raw("", target, format="latex"))


class DropHiddenInput(SphinxPostTransform):
    """Drop the code of cells tagged ``hide-input`` (their outputs stay)."""

    default_priority = 50
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        for cell in list(self.document.findall(nodes.container)):
            if "tag_hide-input" not in cell.get("classes", []):
                continue
            for child in list(cell.children):
                if isinstance(child, nodes.container) and "cell_input" in child.get("classes", []):
                    cell.remove(child)


class BibliographyInPlace(SphinxPostTransform):
    """Keep the bibliography where the ``{bibliography}`` directive put it.

    Sphinx's ``BibliographyTransform`` (priority 750) gathers every citation into one
    ``thebibliography`` at the end of the book, which LaTeX prints as a chapter of its own
    (titled ``\\bibname``) after the references page's empty chapter. This transform
    marks the spot before that (priority 740) and moves the list back after it (760); the
    style then prints it without a heading of its own (``\\linbookbibliographyinplace``).
    """

    formats = ("latex",)
    MARK = "linbook-bibliography-here"

    def run(self, **kwargs) -> None:
        raise NotImplementedError


class MarkBibliography(BibliographyInPlace):
    default_priority = 740

    def run(self, **kwargs) -> None:
        first = next(iter(self.document.findall(nodes.citation)), None)
        if first is None or first.parent is None:
            return
        mark = nodes.comment("", "", classes=[self.MARK])
        first.parent.insert(first.parent.index(first), mark)


class MoveBibliography(BibliographyInPlace):
    default_priority = 760

    def run(self, **kwargs) -> None:
        marks = [
            n for n in self.document.findall(nodes.comment) if self.MARK in n.get("classes", [])
        ]
        if not marks:
            return
        tail = self.document.children[-1] if self.document.children else None
        if not isinstance(tail, thebibliography):
            for mark in marks:
                mark.parent.remove(mark)
            return
        self.document.remove(tail)
        mark = marks[0]
        flag = nodes.raw("", "\\linbookbibliographyinplace\n", format="latex")
        mark.replace_self([flag, tail])
        for extra in marks[1:]:
            extra.parent.remove(extra)


class ProtectLinksInMovingArguments(SphinxPostTransform):
    """Put ``\\protect`` before every link inside a caption or a title.

    Links are ``reference`` nodes, or raw LaTeX (sphinxcontrib-bibtex writes its citations
    as ``\\hyperlink{cite...}{`` ... ``}``).
    """

    default_priority = 800  # after the references (10) and citations are resolved
    formats = ("latex",)
    _RAW_LINK_RE = re.compile(r"(?<!\\protect)(\\hyper(?:link|ref)\b)")

    def run(self, **kwargs) -> None:
        holders = [
            n
            for n in self.document.findall(nodes.Element)
            if isinstance(n, (nodes.caption, nodes.title))
        ]
        for holder in holders:
            for ref in list(holder.findall(nodes.reference)):
                ref.parent.insert(ref.parent.index(ref), nodes.raw("", "\\protect", format="latex"))
            for raw in list(holder.findall(nodes.raw)):
                if "latex" not in raw.get("format", "").split():
                    continue
                text = raw.astext()
                protected = self._RAW_LINK_RE.sub(r"\\protect\1", text)
                if protected != text:
                    raw.replace_self(nodes.raw("", protected, format=raw["format"]))
            # sphinxcontrib-bibtex's raw_latex: the LaTeX writer prints its rawsource
            for raw in list(holder.findall(lambda n: type(n).__name__ == "raw_latex")):
                raw.rawsource = self._RAW_LINK_RE.sub(r"\\protect\1", raw.rawsource)


_BREAK_RE = re.compile(r"(?<=[_./])(?=.)|(?<=[a-z0-9])(?=[A-Z])")


class BreakableTableLiterals(SphinxPostTransform):
    """Let long inline code in table cells break at CamelCase humps, after ``_`` ``.`` ``/``."""

    default_priority = 50
    formats = ("latex",)
    MIN_LENGTH = 12

    def run(self, **kwargs) -> None:
        for entry in self.document.findall(nodes.entry):
            for literal in list(entry.findall(nodes.literal)):
                text = literal.astext()
                if len(text) < self.MIN_LENGTH or len(literal.children) != 1:
                    continue
                parts = [p for p in _BREAK_RE.split(text) if p]
                if len(parts) < 2:
                    continue
                pieces: list[nodes.Node] = []
                for i, part in enumerate(parts):
                    if i:
                        pieces.append(nodes.raw("", "\\allowbreak{}", format="latex"))
                    piece = literal.copy()
                    piece.children = []
                    piece += nodes.Text(part)
                    pieces.append(piece)
                literal.replace_self(pieces)


def _own_toctrees(node: nodes.Element) -> list[tuple[nodes.Element, nodes.compound]]:
    """(parent, wrapper) for the toctree wrappers of ``node``'s own page, not of inlined pages.

    (Walks the children: the inlined pages' nodes keep ``parent`` links to their own
    doctrees, so climbing ``parent`` from a node does not find its ``start_of_file``.)
    """
    found = []
    for child in node.children:
        if isinstance(child, addnodes.start_of_file):
            continue
        if isinstance(child, nodes.compound) and "toctree-wrapper" in child.get("classes", []):
            found.append((node, child))
        elif isinstance(child, nodes.Element):
            found.extend(_own_toctrees(child))
    return found


class RootPageAsChapter(SphinxPostTransform):
    """Make the root page a chapter and the chapters of the table of contents its siblings.

    The LaTeX writer skips the first section title of the assembled book (the book's title is
    on the title page) and does not count that section's level. Wrapping the root page in
    a section titled with the book's title makes the root page's own section a chapter; its
    toctrees, which hold the inlined chapters, move behind it into the wrapper.
    """

    default_priority = 100  # before Sphinx's LaTeX post-transforms (bibliography: 750)
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        if self.document.get("docname") != self.config.root_doc:
            return  # not the assembled book
        sections = [c for c in self.document.children if isinstance(c, nodes.section)]
        if len(sections) != 1:
            logger.warning(
                "linbook_latex: the root page should have exactly one top-level heading, "
                "found %d; the PDF keeps Sphinx's layout",
                len(sections),
            )
            return
        root = sections[0]
        toctrees = _own_toctrees(root)
        wrapper = nodes.section(ids=[], names=[])
        wrapper += nodes.title("", self.config.project)
        root.replace_self(wrapper)
        wrapper += root
        for parent, toctree in toctrees:
            parent.remove(toctree)
            wrapper += toctree


def _add_style(app, config) -> None:
    files = list(config.latex_additional_files or [])
    if str(STY) not in files:
        files.append(str(STY))
    config.latex_additional_files = files


def setup(app):
    app.connect("config-inited", _add_style)
    app.add_latex_package("linbook_latex", after_hyperref=True)
    app.add_post_transform(CleanTerminalOutput)
    app.add_post_transform(DropHiddenInput)
    app.add_post_transform(LabelExercisesForReferences)
    app.add_post_transform(RootPageAsChapter)
    app.add_post_transform(MarkBibliography)
    app.add_post_transform(MoveBibliography)
    app.add_post_transform(BreakableTableLiterals)
    app.add_post_transform(ProtectLinksInMovingArguments)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
