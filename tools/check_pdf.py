#!/usr/bin/env python3
"""Check the book's PDF edition (``jupyter-book build . --builder latex`` + latexmk).

Run after the PDF and the HTML book are built::

    python tools/check_pdf.py                       # _build/latex, _build/html, book in .
    python tools/check_pdf.py --latex-dir /tmp/jb/_build/latex --html-dir /tmp/jb/_build/html

Checks (each prints PASS or FAIL with what is wrong; the exit status is 1 if any fails):

* latex: the LaTeX log has no error, no "Missing character" (a glyph no font has: it would
  be a blank in the PDF), no undefined reference or citation, no request to rerun, and no
  overfull line wider than ``--max-overfull-pt`` outside code blocks (code and outputs
  wrap; Sphinx's wrapping itself logs overfull boxes there, so those are not counted); the
  .tex has no empty citation "[]" (a key missing in references.bib);
* fonts: ``pdffonts`` lists every font as embedded, a CJK font among them;
* text: ``pdftotext`` finds the title of every page of ``_toc.yml`` (its first ``#``
  heading) and the first sentence of its first prose paragraph, compared without
  whitespace, hyphens, quotes and markup (math, roles and links split the sentence into
  pieces that are looked for one by one);
* figures: every page of the PDF includes as many figures as the same page of the HTML
  book (``<img>`` from ``_images/``), every included file exists and xelatex placed it
  (``<use file>`` in the log), and ``pdfimages`` finds at least one raster image per
  included PNG/JPEG (vector PDF figures hold no raster image, so they are checked through
  the .tex and the log only);
* pages: the page count is within ``--pages MIN:MAX``, and the PDF is newer than its .tex.

Only the standard library and poppler-utils (pdffonts, pdftotext, pdfimages, pdfinfo).
"""

from __future__ import annotations

import argparse
import html
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

MAX_PRINT_LINE = 79  # TeX's default: longer log lines are cut into pieces of 79 characters


# ---------------------------------------------------------------------------- LaTeX log


def unwrap_log(text: str, width: int = MAX_PRINT_LINE) -> str:
    """Join the lines TeX cut at ``width`` characters (its ``max_print_line``).

    >>> unwrap_log("a" * 79 + "\\nbc\\nd")
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabc\\nd'
    """
    out: list[str] = []
    pending = ""
    for line in text.split("\n"):
        pending += line
        if len(line) == width:
            continue
        out.append(pending)
        pending = ""
    if pending:
        out.append(pending)
    return "\n".join(out)


_MISSING_RE = re.compile(
    r"Missing character: There is no (.+?)(?: \(U\+([0-9A-Fa-f]{4,6})\))? in font (.+?)!"
)


@dataclass(frozen=True)
class MissingChar:
    char: str
    codepoint: str
    font: str


def parse_missing_characters(log: str) -> list[MissingChar]:
    """Every "Missing character" of an (unwrapped) xelatex log, in order."""
    found = []
    for m in _MISSING_RE.finditer(log):
        char, code, font = m.group(1), m.group(2), m.group(3)
        if not code and len(char) == 1:
            code = f"{ord(char):04X}"
        font = font.split("/")[0].strip('"')
        found.append(MissingChar(char, (code or "?").upper(), font))
    return found


_UNDEFINED_RE = re.compile(
    r"LaTeX Warning: (Reference|Citation) [`'](.+?)' on page (\S+) undefined"
    r"|LaTeX Warning: (There were undefined references|There were undefined citations)"
    r"|LaTeX Warning: (Label\(s\) may have changed)"
)


def parse_undefined(log: str) -> list[str]:
    """The undefined references/citations (and rerun requests) of a LaTeX log."""
    found = []
    for m in _UNDEFINED_RE.finditer(log):
        if m.group(1):
            found.append(f"{m.group(1).lower()} {m.group(2)!r} undefined (page {m.group(3)})")
        else:
            found.append(m.group(4) or f"{m.group(5)}: LaTeX wants another run")
    return found


def parse_errors(log: str) -> list[str]:
    """TeX error messages (lines starting with ``! ``)."""
    return [line[2:].strip() for line in log.split("\n") if line.startswith("! ")]


_OVERFULL_RE = re.compile(
    r"^Overfull \\([hv])box \(([\d.]+)pt too (?:wide|high)\) "
    r"(?:in paragraph at lines (\d+)--(\d+)|in alignment at lines (\d+)--(\d+)"
    r"|detected at line (\d+))",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Overfull:
    box: str  # "h" (too wide) or "v" (too high)
    points: float
    first_line: int
    last_line: int
    snippet: str


def parse_overfull(log: str) -> list[Overfull]:
    """The overfull boxes of an (unwrapped) LaTeX log, with the .tex lines they come from."""
    found = []
    for m in _OVERFULL_RE.finditer(log):
        numbers = [g for g in m.groups()[2:] if g is not None]
        first, last = int(numbers[0]), int(numbers[-1])
        rest = log[m.end() :].split("\n", 2)
        snippet = rest[1].strip() if len(rest) > 1 else ""
        found.append(Overfull(m.group(1), float(m.group(2)), first, last, snippet[:100]))
    return found


def verbatim_line_ranges(tex: str) -> list[tuple[int, int]]:
    """1-based, inclusive line ranges of the ``sphinxVerbatim`` blocks (code, outputs) of a .tex."""
    ranges = []
    start = None
    for number, line in enumerate(tex.split("\n"), start=1):
        if start is None and "\\begin{sphinxVerbatim}" in line:
            start = number
        if start is not None and "\\end{sphinxVerbatim}" in line:
            ranges.append((start, number))
            start = None
    return ranges


def overfull_outside_code(
    boxes: list[Overfull], code: list[tuple[int, int]], max_points: float
) -> list[Overfull]:
    """The boxes wider (or higher) than ``max_points`` whose lines are not all in a code block."""
    bad = []
    for box in boxes:
        if box.points <= max_points:
            continue
        if any(a <= box.first_line and box.last_line <= b for a, b in code):
            continue
        bad.append(box)
    return bad


_USE_RE = re.compile(
    r"<(?:use )?\"?([^\"<>\n]+?\.(?:pdf|png|jpe?g|jp2|gif|bmp|eps))\"?(?:[ ,\[][^>\n]*)?>",
    re.IGNORECASE,
)


def used_graphics(log: str) -> set[str]:
    """The graphics files xelatex placed: ``<use file.pdf>`` (PDF) and ``<file.png>`` (bitmaps)."""
    return {Path(m.group(1)).name for m in _USE_RE.finditer(log)}


# ------------------------------------------------------------------------------ the .tex

_EMPTY_CITATION_RE = re.compile(r"\\DUrole\{bibtex-citation\}\{\{\[\}\{\]\}\}")


def empty_citations(tex: str) -> list[str]:
    """Citations printed as an empty "[]" (sphinxcontrib-bibtex found no entry for the key),
    each with the line of the .tex it is on."""
    found = []
    for number, line in enumerate(tex.split("\n"), start=1):
        for m in _EMPTY_CITATION_RE.finditer(line):
            before = re.sub(r"\\[a-zA-Z]+|[{}]", "", line[: m.start()])[-40:]
            found.append(f"line {number}: ...{before.strip()} []")
    return found


_DOC_LABEL_RE = re.compile(r"\\label\{\\detokenize\{([^}]*)::doc\}\}")
_GRAPHICS_RE = re.compile(
    r"\\(?:sphinxincludegraphics|includegraphics)(?:\[[^\]]*\])?\{(\{[^}]*\}[^}]*|[^}]*)\}"
)


def graphics_by_doc(tex: str) -> dict[str, list[str]]:
    """Included graphics files of a Sphinx .tex, grouped by the page (docname) they are on.

    Sphinx marks the start of every page with ``\\label{\\detokenize{<docname>::doc}}``;
    a file name like ``{{abc}.pdf}`` (braces protect the dots) becomes ``abc.pdf``.
    """
    marks = [(m.start(), m.group(1)) for m in _DOC_LABEL_RE.finditer(tex)]
    result: dict[str, list[str]] = {doc: [] for _, doc in marks}
    for m in _GRAPHICS_RE.finditer(tex):
        name = m.group(1).replace("{", "").replace("}", "")
        doc = ""
        for pos, docname in marks:
            if pos <= m.start():
                doc = docname
            else:
                break
        result.setdefault(doc, []).append(name)
    return result


# ------------------------------------------------------------------------------ the HTML

_MAIN_RE = re.compile(r"<main\b.*?</main>", re.DOTALL | re.IGNORECASE)
_IMG_RE = re.compile(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", re.IGNORECASE)


def html_figures(page: str) -> list[str]:
    """The figures of an HTML page of the book: ``<img>`` under ``_images/`` in ``<main>``.

    Theme images (logos, the Colab button) live in ``_static/`` and are not counted.
    """
    main = _MAIN_RE.search(page)
    body = main.group(0) if main else page
    return [html.unescape(src) for src in _IMG_RE.findall(body) if "_images/" in src]


# ---------------------------------------------------------------------------- the sources


def parse_toc(toc: str) -> list[str]:
    """The docnames of a Jupyter Book ``_toc.yml`` (``root`` and every ``file``), in order.

    A small reader for the subset of YAML that ``_toc.yml`` uses (no PyYAML needed).
    """
    docs = []
    for line in toc.split("\n"):
        line = line.split(" #", 1)[0].rstrip()
        m = re.match(r"^\s*(?:-\s+)?(root|file)\s*:\s*[\"']?([^\"'\s]+)[\"']?\s*$", line)
        if m:
            doc = re.sub(r"\.(md|ipynb|rst)$", "", m.group(2))
            if doc not in docs:
                docs.append(doc)
    return docs


def _strip_front_matter(lines: list[str]) -> list[str]:
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                return lines[i + 1 :]
    return lines


def _blocks(md: str) -> list[tuple[str, str]]:
    """Split MyST Markdown into ("heading"|"paragraph"|"other", text) blocks, outside fences.

    Fenced blocks (code cells, directives, ``:::`` admonitions), ``$$`` math, comments,
    labels, tables, lists, quotes and indented lines are not prose paragraphs.
    """
    lines = _strip_front_matter(md.split("\n"))
    blocks: list[tuple[str, str]] = []
    paragraph: list[str] = []
    fence: str | None = None
    in_comment = False
    in_math = False

    def flush() -> None:
        if paragraph:
            blocks.append(("paragraph", "\n".join(paragraph)))
            paragraph.clear()

    for line in lines:
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith(fence) and stripped.strip(fence[0]) == "":
                fence = None
            continue
        if in_comment:
            in_comment = "-->" not in stripped
            continue
        if in_math:
            in_math = not stripped.endswith("$$")
            continue
        m = re.match(r"^(`{3,}|~{3,}|:{3,})", stripped)
        if m:
            flush()
            fence = m.group(1)
            continue
        if stripped.startswith("<!--"):
            flush()
            in_comment = "-->" not in stripped
            continue
        if stripped.startswith("$$"):
            flush()
            in_math = not (len(stripped) > 2 and re.search(r"\$\$(\s*\(.*\))?$", stripped[2:]))
            continue
        if not stripped:
            flush()
            continue
        if re.match(r"^#{1,6}\s", stripped):
            flush()
            blocks.append(("heading", stripped))
            continue
        if (
            (line[:1].isspace() and not paragraph)  # inside a list item or other block
            or re.match(r"^\(.+\)=$", stripped)  # a label
            or stripped.startswith(("+++", "%", "|", ">", "- ", "* ", "+ ", "<"))
            or re.match(r"^\d+[.)]\s", stripped)
        ):
            flush()
            blocks.append(("other", stripped))
            continue
        if blocks and blocks[-1][0] == "other" and not paragraph and _continues(blocks[-1][1]):
            continue  # the lazy continuation of a list item or quote
        paragraph.append(stripped)
    flush()
    return blocks


def _continues(previous: str) -> bool:
    return previous.startswith(("- ", "* ", "+ ", ">")) or bool(re.match(r"^\d+[.)]\s", previous))


def first_heading(md: str) -> str | None:
    """The text of the first ``#`` heading of a MyST Markdown page (None if it has none)."""
    for kind, text in _blocks(md):
        if kind == "heading" and re.match(r"^#\s", text):
            return text[1:].strip()
    return None


_ROLE_RE = re.compile(r"\{[\w:.-]+\}`[^`]*`")  # {ref}`...`, {glue:text}`...`, {cite:p}`...`
_MATH_RE = re.compile(r"\$\$.+?\$\$|\$[^$]+\$")
_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|<(https?://[^>]+)>")
_FOOTNOTE_RE = re.compile(r"\[\^[^\]]+\]")
_HTML_RE = re.compile(r"<[^>]+>")
_SUBST_RE = re.compile(r"\{\{[^}]*\}\}")


def markup_chunks(text: str) -> list[str]:
    """The pieces of plain text of a line of MyST Markdown, split where markup renders differently.

    Roles (glue numbers, references, citations), math, footnote marks, HTML and
    substitutions are cut out; a link keeps its text as a piece of its own (a URL footnote
    mark follows it in the PDF); inline code keeps its content; emphasis marks go.

    >>> markup_chunks("损失 $L(w)$ 见 {numref}`fig-x`，`torch.nn` 与 **小批量**。")
    ['损失', '见', '，torch.nn 与 小批量。']
    """
    pieces = [text]
    for pattern in (_ROLE_RE, _MATH_RE, _FOOTNOTE_RE, _SUBST_RE, _HTML_RE):
        pieces = [p for piece in pieces for p in pattern.split(piece)]
    out: list[str] = []
    for piece in pieces:
        last = 0
        for m in _LINK_RE.finditer(piece):
            out.append(piece[last : m.start()])
            out.append(m.group(1) or "")
            last = m.end()
        out.append(piece[last:])
    cleaned = []
    for piece in out:
        piece = piece.replace("`", "")
        piece = re.sub(r"(\*\*|__|\*|~~)", "", piece)
        piece = re.sub(r"\\(.)", r"\1", piece)  # \* -> *
        piece = " ".join(piece.split())
        if piece:
            cleaned.append(piece)
    return cleaned


_QUOTES = "\"'“”‘’„‟«»「」『』`´"
_SAME_AS = str.maketrans({"\u22ef": "...", "\u2026": "...", "\u30fb": "\u00b7", "\u2027": "\u00b7"})
# whitespace, soft hyphen, zero-width characters, hyphens and dashes
_DROP_RE = re.compile(r"[\s\u00ad\u200b-\u200d\u2060\ufeff\-\u2010-\u2015\u2212\u2e3a\u2e3b]")


def normalize(text: str) -> str:
    """Text for comparison: NFKC, no whitespace, hyphens, quotes or zero-width characters.

    >>> normalize("Fashion-\\nMNIST： “小 批量”\\u00ad")
    'FashionMNIST:小批量'
    """
    # the CJK fonts' ellipsis is the midline one; xeCJK's dashes and dots vary too
    text = text.translate(_SAME_AS)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch not in _QUOTES)
    return _DROP_RE.sub("", text)


_SENTENCE_END_RE = re.compile(r"(?<=[。！？])|(?<=[.!?])(?=\s)")


def sample_sentence(md: str, min_chars: int = 6) -> tuple[str, list[str]] | None:
    """The first sentence of the first prose paragraph with a piece of at least ``min_chars``.

    Returns (sentence, pieces to find), the pieces being :func:`markup_chunks` of the
    sentence that are at least 2 characters long once normalized.
    """
    for kind, text in _blocks(md):
        if kind != "paragraph":
            continue
        joined = " ".join(text.split("\n"))
        for sentence in _SENTENCE_END_RE.split(joined):
            sentence = sentence.strip()
            if not sentence:
                continue
            pieces = [p for p in markup_chunks(sentence) if len(normalize(p)) >= 2]
            if any(len(normalize(p)) >= min_chars for p in pieces):
                return sentence, pieces
    return None


# -------------------------------------------------------------------------------- poppler


@dataclass(frozen=True)
class PdfFont:
    name: str
    type: str
    encoding: str
    embedded: bool
    subset: bool
    unicode: bool


def parse_pdffonts(output: str) -> list[PdfFont]:
    """The fonts of ``pdffonts`` output (columns read from the right: names may be long)."""
    fonts = []
    lines = output.split("\n")
    start = next((i + 1 for i, line in enumerate(lines) if line.startswith("----")), None)
    if start is None:
        return fonts
    for line in lines[start:]:
        tokens = line.split()
        if len(tokens) < 8:
            continue
        emb, sub, uni = tokens[-5], tokens[-4], tokens[-3]
        if not {emb, sub, uni} <= {"yes", "no"}:
            continue
        fonts.append(
            PdfFont(
                name=tokens[0],
                type=" ".join(tokens[1:-6]),
                encoding=tokens[-6],
                embedded=emb == "yes",
                subset=sub == "yes",
                unicode=uni == "yes",
            )
        )
    return fonts


def is_cjk_font(name: str) -> bool:
    """Whether a PDF font name (``ABCDEF+NotoSerifCJKsc-Regular``) is a CJK font."""
    base = name.split("+", 1)[-1]
    return bool(
        re.search(r"CJK|SourceHan|Han(Sans|Serif)|Song|Hei|Kai|Fang|Ming|Gothic|Fandol", base, re.I)
    )


def parse_pdfimages(output: str) -> list[dict[str, str]]:
    """The rows of ``pdfimages -list`` output, as dicts keyed by its header."""
    lines = output.split("\n")
    if len(lines) < 2:
        return []
    header = lines[0].split()
    rows = []
    for line in lines[2:]:
        tokens = line.split()
        if len(tokens) >= len(header) - 1:
            rows.append(dict(zip(header, tokens)))
    return rows


def page_size(pdfinfo: str) -> tuple[float, float]:
    """Width and height (pt) of the first page from ``pdfinfo`` output."""
    m = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", pdfinfo, re.MULTILINE)
    if not m:
        raise ValueError("pdfinfo output has no 'Page size' line")
    return float(m.group(1)), float(m.group(2))


def pdf_body_text(pdf: Path, head_pt: float, foot_pt: float) -> str:
    """The text of ``pdf`` without its running heads and feet (the top ``head_pt`` and
    bottom ``foot_pt`` points of each page), so that a sentence running over a page break
    reads on without the chapter mark and page number in between."""
    width, height = page_size(_run(["pdfinfo", str(pdf)]))
    crop = ["-x", "0", "-y", str(int(head_pt)), "-W", str(int(width) + 1)]
    crop += ["-H", str(int(height - head_pt - foot_pt))]
    return _run(["pdftotext", "-q", "-enc", "UTF-8", *crop, str(pdf), "-"])


def _run(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, check=True)
    except FileNotFoundError:
        raise SystemExit(
            f"check_pdf: {cmd[0]} not found (Debian: apt-get install poppler-utils)"
        ) from None
    except subprocess.CalledProcessError as err:
        stderr = err.stderr.decode(errors="replace")
        raise SystemExit(f"check_pdf: {' '.join(cmd)} failed: {stderr}") from None
    return done.stdout.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------------- main


@dataclass
class Report:
    failures: list[str] = field(default_factory=list)

    def check(self, name: str, problems: list[str], ok: str) -> None:
        if problems:
            print(f"FAIL {name}:")
            for problem in problems[:30]:
                print(f"     - {problem}")
            if len(problems) > 30:
                print(f"     ... and {len(problems) - 30} more")
            self.failures.append(name)
        else:
            print(f"PASS {name}: {ok}")


def _main_tex(latex_dir: Path, name: str | None) -> Path:
    if name:
        return latex_dir / f"{name}.tex"
    candidates = [
        p
        for p in sorted(latex_dir.glob("*.tex"))
        if "\\begin{document}" in p.read_text("utf-8", "replace")
    ]
    if len(candidates) != 1:
        raise SystemExit(
            f"check_pdf: expected one main .tex in {latex_dir}, found {[p.name for p in candidates]}; "
            "pass --name"
        )
    return candidates[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, default=Path("."), help="book folder (with _toc.yml)")
    parser.add_argument("--latex-dir", type=Path, default=None, help="default: BOOK/_build/latex")
    parser.add_argument("--html-dir", type=Path, default=None, help="default: BOOK/_build/html")
    parser.add_argument("--name", default=None, help="LaTeX document name (default: the one .tex)")
    parser.add_argument("--pages", default="40:600", help="allowed page count MIN:MAX")
    parser.add_argument("--max-overfull-pt", type=float, default=10.0)
    # Sphinx's page (A4, 1in margins): the running head ends 48pt below the top edge and the
    # text starts 64pt or more below it; the text ends 72pt above the bottom edge and the
    # running foot reaches up to 48pt above it.
    parser.add_argument("--head-pt", type=float, default=60.0, help="running head band (pt)")
    parser.add_argument("--foot-pt", type=float, default=57.0, help="running foot band (pt)")
    args = parser.parse_args(argv)

    book = args.book
    latex_dir = args.latex_dir or book / "_build" / "latex"
    html_dir = args.html_dir or book / "_build" / "html"
    tex_path = _main_tex(latex_dir, args.name)
    pdf_path = tex_path.with_suffix(".pdf")
    log_path = tex_path.with_suffix(".log")
    for path in (pdf_path, log_path):
        if not path.is_file():
            raise SystemExit(f"check_pdf: {path} not found: build the PDF first")
    print(f"check_pdf: {pdf_path}")
    report = Report()
    tex = tex_path.read_text("utf-8", "replace")
    log = unwrap_log(log_path.read_text("utf-8", "replace"))

    # -- log
    problems = [f"LaTeX error: {e}" for e in parse_errors(log)]
    missing = parse_missing_characters(log)
    seen: dict[tuple[str, str], int] = {}
    for m in missing:
        seen[(m.char, m.codepoint, m.font)] = seen.get((m.char, m.codepoint, m.font), 0) + 1
    problems += [
        f"missing character {c!r} (U+{code}) in font {font} ({n}x): it is blank in the PDF"
        for (c, code, font), n in seen.items()
    ]
    problems += parse_undefined(log)
    boxes = overfull_outside_code(
        parse_overfull(log), verbatim_line_ranges(tex), args.max_overfull_pt
    )
    problems += [
        f"overfull \\{b.box}box {b.points:.1f}pt (> {args.max_overfull_pt}pt) at {tex_path.name} "
        f"lines {b.first_line}-{b.last_line}: {b.snippet}"
        for b in boxes
    ]
    problems += [
        f"empty citation (no entry in the .bib for its key?) at {tex_path.name} {where}"
        for where in empty_citations(tex)
    ]
    report.check("latex", problems, "no error, missing character, undefined reference or wide line")

    # -- fonts
    fonts = parse_pdffonts(_run(["pdffonts", str(pdf_path)]))
    problems = [f"font {f.name} ({f.type}) is not embedded" for f in fonts if not f.embedded]
    cjk = [f.name for f in fonts if f.embedded and is_cjk_font(f.name)]
    if not fonts:
        problems.append("pdffonts lists no font")
    elif not cjk:
        problems.append("no embedded CJK font: " + ", ".join(sorted({f.name for f in fonts})))
    report.check(
        "fonts",
        problems,
        f"{len(fonts)} fonts, all embedded; CJK: {', '.join(sorted(set(cjk))[:4])}",
    )

    # -- text
    text = normalize(pdf_body_text(pdf_path, args.head_pt, args.foot_pt))
    problems = []
    docs = parse_toc((book / "_toc.yml").read_text("utf-8"))
    sampled = 0
    for doc in docs:
        source = book / f"{doc}.md"
        if not source.is_file():
            problems.append(f"{doc}: source {source} not found (only .md pages are read)")
            continue
        md = source.read_text("utf-8")
        title = first_heading(md)
        if title is None:
            problems.append(f"{doc}: no '# ' heading in {source}")
        else:
            for piece in markup_chunks(title):
                if normalize(piece) and normalize(piece) not in text:
                    problems.append(
                        f"{doc}: title {title!r} not found in the PDF (piece {piece!r})"
                    )
        sample = sample_sentence(md)
        if sample is None:
            continue  # e.g. references.md: a title and the bibliography only
        sentence, pieces = sample
        sampled += 1
        lost = [p for p in pieces if normalize(p) not in text]
        if lost:
            problems.append(f"{doc}: sentence {sentence!r} not found in the PDF (missing {lost!r})")
    report.check("text", problems, f"{len(docs)} page titles and {sampled} sample sentences found")

    # -- figures
    problems = []
    by_doc = graphics_by_doc(tex)
    included = [name for names in by_doc.values() for name in names]
    used = used_graphics(log)
    for name in included:
        if not (latex_dir / name).is_file():
            problems.append(f"{name} is included by {tex_path.name} but missing in {latex_dir}")
        elif name not in used:
            problems.append(f"{name} is included by {tex_path.name} but xelatex did not place it")
    if html_dir.is_dir():
        for doc in docs:
            page = html_dir / f"{doc}.html"
            if not page.is_file():
                problems.append(f"{doc}: HTML page {page} not found")
                continue
            n_html = len(html_figures(page.read_text("utf-8", "replace")))
            n_pdf = len(by_doc.get(doc, []))
            if n_html != n_pdf:
                problems.append(f"{doc}: {n_html} figures in the HTML page, {n_pdf} in the PDF")
    else:
        problems.append(f"no HTML book at {html_dir} to compare figures with (--html-dir)")
    raster = [n for n in included if n.lower().endswith((".png", ".jpg", ".jpeg"))]
    images = [
        r
        for r in parse_pdfimages(_run(["pdfimages", "-list", str(pdf_path)]))
        if r.get("type") == "image"
    ]
    if len(images) < len(raster):
        problems.append(
            f"{len(raster)} PNG/JPEG figures included, pdfimages finds {len(images)} images"
        )
    report.check(
        "figures",
        problems,
        f"{len(included)} figures ({len(raster)} raster) included and placed, as many per page "
        f"as the HTML; {len(images)} raster images in the PDF",
    )

    # -- pages
    problems = []
    info = _run(["pdfinfo", str(pdf_path)])
    m = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    pages = int(m.group(1)) if m else 0
    low, high = (int(x) for x in args.pages.split(":"))
    if not low <= pages <= high:
        problems.append(f"{pages} pages, expected {low} to {high} (--pages)")
    if pdf_path.stat().st_mtime < tex_path.stat().st_mtime:
        problems.append(f"{pdf_path.name} is older than {tex_path.name}: xelatex did not finish?")
    report.check("pages", problems, f"{pages} pages")

    if report.failures:
        print(f"check_pdf: FAILED ({', '.join(report.failures)})")
        return 1
    print("check_pdf: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
