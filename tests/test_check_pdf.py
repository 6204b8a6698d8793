"""The PDF edition: tools/check_pdf.py's parsers and checks, and _ext/linbook_latex.py.

No TeX is needed: the checker's parsers read small fixtures, its ``main`` runs on a fake
build folder with poppler's outputs replaced, and the extension is checked on the .tex that
Sphinx's LaTeX builder writes for a tiny project.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import execute_cell

REPO = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


check_pdf = _load("check_pdf", REPO / "tools" / "check_pdf.py")
linbook_latex = _load("linbook_latex", REPO / "_ext" / "linbook_latex.py")


# ------------------------------------------------------------------------------ the log


def tex_wrap(text: str, width: int = 79) -> str:
    """Cut lines as TeX does in its log (``max_print_line``: 79 characters)."""
    out = []
    for line in text.split("\n"):
        while len(line) > width:
            out.append(line[:width])
            line = line[width:]
        out.append(line)
    return "\n".join(out)


# What xelatex writes, before TeX cuts the long lines.
LOG_LINES = """\
This is XeTeX, Version 3.141592653-2.6-0.999995 (TeX Live 2023/Debian) (preloaded format=xelatex)
Missing character: There is no 🚀 (U+1F680) in font Noto Serif CJK SC/OT:script=hani;language=dflt;!
Missing character: There is no ✗ (U+2717) in font DejaVu Sans Mono/OT:script=latn;language=dflt;!
Missing character: There is no 🚀 (U+1F680) in font Noto Serif CJK SC/OT:script=hani;language=dflt;!

LaTeX Warning: Reference `chapters/covid19:sec-data' on page 12 undefined on input line 4021.

LaTeX Warning: Citation `kingma2015adam' on page 40 undefined on input line 812.

Overfull \\hbox (64.85204pt too wide) in paragraph at lines 5005--5005
[]\\TU/DejaVuSansMono(0)/m/n/10 CompetitionDataNotFoundError|
 []

Overfull \\hbox (56.30225pt too wide) in paragraph at lines 6223--6223
|\\TU/DejaVuSansMono(0)/m/n/9 =====
 []

Overfull \\vbox (1.63892pt too high) detected at line 923
 []

Overfull \\hbox (3.1pt too wide) in alignment at lines 700--712
 []

File: e8b460a4d43c2d1fb447a85f9556af188846d5bdada3e131d926218b435870df.pdf Graphic file (type pdf)
<use e8b460a4d43c2d1fb447a85f9556af188846d5bdada3e131d926218b435870df.pdf>
File: 8bb7929289fed3ae325ca86f935e1f31d460eaba3a32014eca6a60d76c0909f8.png Graphic file (type bmp)
<8bb7929289fed3ae325ca86f935e1f31d460eaba3a32014eca6a60d76c0909f8.png>
! Undefined control sequence.
l.88 \\foo

LaTeX Warning: There were undefined references.
"""
LOG = tex_wrap(LOG_LINES)


def test_fixture_log_is_cut_like_a_real_one():
    assert max(len(line) for line in LOG.split("\n")) == 79
    assert check_pdf.unwrap_log(LOG) == LOG_LINES


def test_unwrap_log_joins_lines_cut_at_79_characters():
    assert check_pdf.unwrap_log("a" * 79 + "\nb\nc") == "a" * 79 + "b\nc"
    assert check_pdf.unwrap_log("short\nlines") == "short\nlines"
    # a cut line at the very end is kept
    assert check_pdf.unwrap_log("a" * 79) == "a" * 79


def test_missing_characters_are_read_with_code_point_and_font():
    missing = check_pdf.parse_missing_characters(check_pdf.unwrap_log(LOG))
    assert [(m.char, m.codepoint, m.font) for m in missing] == [
        ("🚀", "1F680", "Noto Serif CJK SC"),
        ("✗", "2717", "DejaVu Sans Mono"),
        ("🚀", "1F680", "Noto Serif CJK SC"),
    ]
    # older XeTeX: no code point in the message
    old = "Missing character: There is no ä in font cmr10!"
    assert check_pdf.parse_missing_characters(old)[0].codepoint == "00E4"


def test_undefined_references_citations_and_rerun_requests():
    found = check_pdf.parse_undefined(check_pdf.unwrap_log(LOG))
    assert found == [
        "reference 'chapters/covid19:sec-data' undefined (page 12)",
        "citation 'kingma2015adam' undefined (page 40)",
        "There were undefined references",
    ]
    rerun = "LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right."
    assert check_pdf.parse_undefined(rerun) == [
        "Label(s) may have changed: LaTeX wants another run"
    ]
    assert check_pdf.parse_undefined("LaTeX Warning: Float too large for page") == []


def test_tex_errors():
    assert check_pdf.parse_errors(LOG) == ["Undefined control sequence."]


def test_overfull_boxes_outside_code_blocks():
    boxes = check_pdf.parse_overfull(check_pdf.unwrap_log(LOG))
    assert [(b.box, b.points, b.first_line, b.last_line) for b in boxes] == [
        ("h", 64.85204, 5005, 5005),
        ("h", 56.30225, 6223, 6223),
        ("v", 1.63892, 923, 923),
        ("h", 3.1, 700, 712),
    ]
    assert "CompetitionDataNotFoundError" in boxes[0].snippet
    tex = "\n".join(
        ["x"] * 6220
        + ["\\begin{sphinxVerbatim}[commandchars=\\\\\\{\\}]", "====", "\\end{sphinxVerbatim}"]
    )
    code = check_pdf.verbatim_line_ranges(tex)
    assert code == [(6221, 6223)]
    bad = check_pdf.overfull_outside_code(boxes, code, max_points=10)
    assert [b.first_line for b in bad] == [5005]  # the code line and the small boxes pass
    assert check_pdf.overfull_outside_code(boxes, code, max_points=100) == []


def test_used_graphics_reads_pdf_and_bitmap_placements():
    assert check_pdf.used_graphics(check_pdf.unwrap_log(LOG)) == {
        "e8b460a4d43c2d1fb447a85f9556af188846d5bdada3e131d926218b435870df.pdf",
        "8bb7929289fed3ae325ca86f935e1f31d460eaba3a32014eca6a60d76c0909f8.png",
    }
    assert check_pdf.used_graphics('<use "figure one.pdf" [1]>') == {"figure one.pdf"}


# ---------------------------------------------------------------------- .tex and HTML

TEX = r"""
\begin{document}
\phantomsection\label{\detokenize{intro::doc}}
Intro has no figure.
\chapter{2.1 线性回归}
\label{\detokenize{chapters/linear-regression:id1}}\label{\detokenize{chapters/linear-regression::doc}}
\noindent\sphinxincludegraphics{{e8b460a4}.pdf}
\begin{figure}[htbp]
\centering
\noindent\sphinxincludegraphics[width=300\sphinxpxdimen]{{7d62342390}.pdf}
\caption{Loss.}\label{\detokenize{chapters/linear-regression:fig-loss}}\end{figure}
\chapter{2.2 softmax 回归}
\label{\detokenize{chapters/softmax-regression::doc}}
\sphinxincludegraphics{{8bb79292}.png}
\includegraphics[width=2in]{plain.jpg}
"""


def test_empty_citations_are_found_with_their_line():
    tex = (
        "x\n"
        "Loshchilov 与 Hutter 的实验表明 \\DUrole{bibtex-citation}{{[}{]}}，解耦之后\n"
        "有 \\DUrole{bibtex-citation}{{[}\\hyperlink{cite.references:id5}{Lee, 2021}{]}}\n"
    )
    assert check_pdf.empty_citations(tex) == ["line 2: ...Loshchilov 与 Hutter 的实验表明 []"]


def test_graphics_are_grouped_by_the_page_they_are_on():
    assert check_pdf.graphics_by_doc(TEX) == {
        "intro": [],
        "chapters/linear-regression": ["e8b460a4.pdf", "7d62342390.pdf"],
        "chapters/softmax-regression": ["8bb79292.png", "plain.jpg"],
    }


def test_html_figures_count_images_of_the_page_not_of_the_theme():
    page = """<html><body>
    <div class="navbar"><img src="_static/logo.png"></div>
    <main id="main-content">
      <img alt="x" src="../_images/abc.svg" />
      <figure><img src="../_images/def.png" alt="y"></figure>
      <a href="https://colab"><img alt="Colab logo" src="../_static/images/logo_colab.png"></a>
    </main>
    <footer><img src="../_images/not-in-main.svg"></footer>
    </body></html>"""
    assert check_pdf.html_figures(page) == ["../_images/abc.svg", "../_images/def.png"]
    # a page without <main>: the whole page
    assert check_pdf.html_figures('<img src="_images/a.svg">') == ["_images/a.svg"]


# ------------------------------------------------------------------------- the sources


def test_parse_toc_reads_root_and_files_in_order():
    toc = """# Table of contents
format: jb-book
root: intro
parts:
  - caption: 第一部分
    chapters:
      - file: chapters/linear-regression
      - file: chapters/training-practice.md   # with suffix
        sections:
          - file: chapters/training-tips
          - url: https://example.org
  - caption: "附录"
    chapters:
      - file: "glossary"
      - file: references
"""
    assert check_pdf.parse_toc(toc) == [
        "intro",
        "chapters/linear-regression",
        "chapters/training-practice",
        "chapters/training-tips",
        "glossary",
        "references",
    ]


CHAPTER = """---
jupytext:
  formats: ipynb,md:myst
kernelspec:
  name: python3
---

(sec-softmax)=
# 2.2 softmax 回归

```{code-cell} ipython3
# a comment, not a heading
import torch
```

````{margin}
```{note}
A nested fence.
```
````

:::{note}
一个注记，不算正文。
:::

- 一个列表项，
  它的续行。

$$
L(\\mathbf{w}) = \\frac{1}{n}
$$

| 表 | 格 |
| --- | --- |

2.1 节的*线性回归*回答“多少”的问题：房价 $y$ 是多少，见 {numref}`fig-x` 和 [d2l](https://d2l.ai)。
第二句话。

后一段。
"""


def test_first_heading_skips_front_matter_and_code():
    assert check_pdf.first_heading(CHAPTER) == "2.2 softmax 回归"
    assert check_pdf.first_heading("no heading\n\n## only a section") is None


def test_sample_sentence_is_the_first_sentence_of_the_first_prose_paragraph():
    sentence, pieces = check_pdf.sample_sentence(CHAPTER)
    assert sentence.startswith("2.1 节的*线性回归*回答")
    assert sentence.endswith("。")
    # one-character pieces ("和", "。") are too common to prove anything and are left out
    assert pieces == ["2.1 节的线性回归回答“多少”的问题：房价", "是多少，见", "d2l"]
    # a page with a title and a directive only (references.md) has no sample
    assert check_pdf.sample_sentence("# 参考文献\n\n```{bibliography}\n```\n") is None


def test_markup_chunks_cut_out_what_renders_differently():
    assert check_pdf.markup_chunks(
        "准确率为 {glue:text}`acc:.3f`，见 {cite:p}`xiao2017fashion`。"
    ) == ["准确率为", "，见", "。"]
    assert check_pdf.markup_chunks("用 `torch.nn` 和 **小批量** 训练") == [
        "用 torch.nn 和 小批量 训练"
    ]
    assert check_pdf.markup_chunks("下载 [Kaggle API](https://kaggle.com) 的令牌") == [
        "下载",
        "Kaggle API",
        "的令牌",
    ]
    assert check_pdf.markup_chunks("公式 $a+b$ 与 $$c$$ 之后") == ["公式", "与", "之后"]


def test_normalize_ignores_layout_hyphens_quotes_and_width():
    assert check_pdf.normalize("Fashion-\nMNIST： “小 批量”") == "FashionMNIST:小批量"
    # the CJK fonts' midline ellipsis, full-width forms, ligatures, soft hyphens
    assert check_pdf.normalize("更快⋯⋯") == check_pdf.normalize("更快……")
    assert check_pdf.normalize("（ａｂｃ）") == "(abc)"
    assert check_pdf.normalize("ﬁt\u00adting") == "fitting"
    assert check_pdf.normalize("「线性」") == check_pdf.normalize("“线性”") == "线性"


# ------------------------------------------------------------------------------ poppler

PDFFONTS = """\
name                                 type              encoding         emb sub uni object ID
------------------------------------ ----------------- ---------------- --- --- --- ---------
FCXREM+NotoSansCJKjp-Bold-Identity-H CID Type 0C       Identity-H       yes yes yes     15  0
QZDLRY+LMRoman10-Regular-Identity-H  CID Type 0C       Identity-H       yes yes yes      8  0
DejaVuSans                           Type 3            Custom           yes no  yes    120  0
Helvetica                            Type 1            WinAnsi          no  no  no     130  0
ABCDEF+DejaVuSansMono                CID TrueType      Identity-H       yes yes yes    140  0
"""


def test_parse_pdffonts():
    fonts = check_pdf.parse_pdffonts(PDFFONTS)
    assert [f.name for f in fonts] == [
        "FCXREM+NotoSansCJKjp-Bold-Identity-H",
        "QZDLRY+LMRoman10-Regular-Identity-H",
        "DejaVuSans",
        "Helvetica",
        "ABCDEF+DejaVuSansMono",
    ]
    assert [f.type for f in fonts] == [
        "CID Type 0C",
        "CID Type 0C",
        "Type 3",
        "Type 1",
        "CID TrueType",
    ]
    assert [f.embedded for f in fonts] == [True, True, True, False, True]
    assert fonts[3].encoding == "WinAnsi" and not fonts[2].subset
    assert check_pdf.parse_pdffonts("") == []


def test_is_cjk_font():
    assert check_pdf.is_cjk_font("FCXREM+NotoSansCJKjp-Bold-Identity-H")
    assert check_pdf.is_cjk_font("ABCDEF+SourceHanSerifSC-Regular")
    assert check_pdf.is_cjk_font("FandolSong-Regular")
    assert not check_pdf.is_cjk_font("QZDLRY+LMRoman10-Regular-Identity-H")
    assert not check_pdf.is_cjk_font("DejaVuSansMono")


PDFIMAGES = """\
page   num  type   width height color comp bpc  enc interp  object ID x-ppi y-ppi size ratio
--------------------------------------------------------------------------------------------
  28     0 image      99    99  index   1   8  image  no       397  0   170   170 1160B  12%
  28     1 smask      99    99  gray    1   8  image  no       398  0   170   170  598B 6.1%
  31     2 image     640   480  rgb     3   8  jpeg   no       401  0    96    96   20K 2.2%
"""


def test_parse_pdfimages():
    rows = check_pdf.parse_pdfimages(PDFIMAGES)
    assert [(r["page"], r["type"]) for r in rows] == [
        ("28", "image"),
        ("28", "smask"),
        ("31", "image"),
    ]
    assert check_pdf.parse_pdfimages("") == []


def test_page_size():
    info = "Title: x\nPages:           147\nPage size:       595.28 x 841.89 pts (A4)\n"
    assert check_pdf.page_size(info) == (595.28, 841.89)
    with pytest.raises(ValueError, match="pdfinfo output has no 'Page size' line"):
        check_pdf.page_size("Pages: 3\n")


# ------------------------------------------------------------------ main, end to end


def _fake_build(tmp_path: Path, log: str = "", html_figures: int = 1) -> Path:
    book = tmp_path / "book"
    (book / "chapters").mkdir(parents=True)
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: chapters/one\n"
    )
    (book / "intro.md").write_text("# 演示书\n\n这是一本只用来测试的小书。\n", encoding="utf-8")
    (book / "chapters" / "one.md").write_text(
        "# 9.1 第一章\n\n第一章有一个图。\n", encoding="utf-8"
    )
    latex = book / "_build" / "latex"
    latex.mkdir(parents=True)
    (latex / "fig.pdf").write_bytes(b"%PDF-1.5")
    (latex / "book.tex").write_text(
        "\\begin{document}\n\\label{\\detokenize{intro::doc}}\n"
        "\\label{\\detokenize{chapters/one::doc}}\n\\sphinxincludegraphics{{fig}.pdf}\n",
        encoding="utf-8",
    )
    (latex / "book.log").write_text(log or "<use fig.pdf>\n", encoding="utf-8")
    (latex / "book.pdf").write_bytes(b"%PDF-1.5")
    html = book / "_build" / "html" / "chapters"
    html.mkdir(parents=True)
    (html.parent / "intro.html").write_text("<main></main>")
    (html / "one.html").write_text(
        "<main>" + '<img src="../_images/a.svg">' * html_figures + "</main>"
    )
    return book


def _fake_poppler(
    monkeypatch, text: str, fonts: str = PDFFONTS.replace(" no  no  no ", " yes no  no ")
):
    outputs = {
        "pdfinfo": "Pages:           60\nPage size:       595.28 x 841.89 pts (A4)\n",
        "pdffonts": fonts,
        "pdftotext": text,
        "pdfimages": PDFIMAGES.split("\n", 2)[0] + "\n" + PDFIMAGES.split("\n", 2)[1] + "\n",
    }
    monkeypatch.setattr(check_pdf, "_run", lambda cmd: outputs[cmd[0]])


GOOD_TEXT = "目录\n演示书\n9.1 第一章\n这是一本只用来\n测试的小书。\n第一章有\n一个图。\n"


def test_main_passes_a_good_build(tmp_path, monkeypatch, capsys):
    book = _fake_build(tmp_path)
    _fake_poppler(monkeypatch, GOOD_TEXT)
    assert check_pdf.main(["--book", str(book)]) == 0
    out = capsys.readouterr().out
    for name in ("latex", "fonts", "text", "figures", "pages"):
        assert f"PASS {name}" in out, out


def test_main_fails_with_clear_messages(tmp_path, monkeypatch, capsys):
    book = _fake_build(tmp_path, log=LOG, html_figures=2)
    _fake_poppler(monkeypatch, "目录\n演示书\n", fonts=PDFFONTS)
    assert check_pdf.main(["--book", str(book), "--pages", "100:200"]) == 1
    out = capsys.readouterr().out
    assert (
        "FAIL latex" in out
        and "missing character '🚀' (U+1F680) in font Noto Serif CJK SC (2x)" in out
    )
    assert "citation 'kingma2015adam' undefined" in out
    assert "FAIL fonts" in out and "Helvetica (Type 1) is not embedded" in out
    assert "FAIL text" in out and "9.1 第一章" in out
    assert "FAIL figures" in out and "chapters/one: 2 figures in the HTML page, 1 in the PDF" in out
    assert "fig.pdf is included by book.tex but xelatex did not place it" in out
    assert "FAIL pages" in out and "60 pages, expected 100 to 200" in out


def test_main_without_a_pdf_says_what_to_do(tmp_path):
    book = _fake_build(tmp_path)
    (book / "_build" / "latex" / "book.pdf").unlink()
    with pytest.raises(SystemExit, match="build the PDF first"):
        check_pdf.main(["--book", str(book)])


# ------------------------------------------------------------ _ext/linbook_latex.py


def test_terminal_text_drops_escapes_and_keeps_what_follows_a_carriage_return():
    tt = linbook_latex.terminal_text
    assert tt("\x1b[31mError\x1b[0m: \x1b[1;32mok\x1b[39;49;00m") == "Error: ok"
    assert tt("epoch 1 10%\repoch 1 100%\nnext") == "epoch 1 100%\nnext"
    assert tt("done\r\n") == "done\n"  # Windows line ends keep the text
    assert tt("abx\bc") == "abc"
    assert tt("title\x1b]0;window\x07 bell\x07 nul\x00") == "title bell nul"
    assert tt("中文\t制表") == "中文\t制表"


def test_latex_builder_writes_the_book_layout(tmp_path):
    """A tiny book through Sphinx's LaTeX builder (no TeX run): the .tex has the layout."""
    from sphinx.cmd.build import build_main

    src = tmp_path / "src"
    (src / "chapters").mkdir(parents=True)
    (src / "conf.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(REPO / '_ext')!r})\n"
        "project = '演示书'\n"
        "language = 'zh_CN'\n"
        "extensions = ['myst_nb', 'sphinxcontrib.bibtex', 'linbook_latex']\n"
        "nb_execution_mode = 'off'\n"
        "bibtex_bibfiles = ['refs.bib']\n"
        "latex_engine = 'xelatex'\n"
        "latex_documents = [('index', 'book.tex', '演示书', 'me', 'manual')]\n",
        encoding="utf-8",
    )
    (src / "refs.bib").write_text(
        "@book{zhang2023dive, author={Zhang, Aston}, title={Dive}, year={2023}}\n"
    )
    (src / "index.md").write_text(
        "# 演示书\n\n引言。\n\n## 这本书写给谁\n\n读者。\n\n"
        "```{toctree}\nchapters/one\nreferences\n```\n",
        encoding="utf-8",
    )
    (src / "references.md").write_text("# 参考文献\n\n```{bibliography}\n```\n", encoding="utf-8")
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# 9.1 第一章\n\n引用 {cite:p}`zhang2023dive`。\n\n"
            "~~~{table} 一张表 {cite:p}`zhang2023dive`。\n:name: tab-one\n\n"
            "| a | b |\n| --- | --- |\n| 1 | 2 |\n~~~\n"
        ),
        nbformat.v4.new_code_cell(
            "print('coloured')",
            outputs=[
                nbformat.v4.new_output(
                    "stream", name="stdout", text="\x1b[31mdanger\x1b[0m 10%\r100%\n"
                )
            ],
        ),
        nbformat.v4.new_code_cell(
            "hidden_plotting_code()",
            metadata={"tags": ["hide-input"]},
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="shown output\n")],
        ),
    ]
    (src / "chapters" / "one.ipynb").write_text(nbformat.writes(nb), encoding="utf-8")
    out = tmp_path / "latex"
    assert build_main(["-b", "latex", "-q", str(src), str(out)]) == 0
    tex = (out / "book.tex").read_text(encoding="utf-8")
    body = tex[tex.index("\\begin{document}") :]
    # the root page is a chapter, its sections are sections, the chapters are chapters
    chapters = [line for line in body.split("\n") if line.startswith("\\chapter{")]
    assert chapters == ["\\chapter{演示书}", "\\chapter{9.1 第一章}", "\\chapter{参考文献}"]
    assert "\\section{这本书写给谁}" in body
    # the bibliography stays on the references page, printed without a heading of its own
    assert body.index("\\chapter{参考文献}") < body.index("\\linbookbibliographyinplace")
    assert body.index("\\linbookbibliographyinplace") < body.index("\\begin{sphinxthebibliography}")
    # a citation in a caption is protected (else: "Argument of \\Hy@tempa has an extra }")
    caption = next(line for line in body.split("\n") if line.startswith("\\sphinxcaption{一张表"))
    assert "\\protect\\hyperlink{cite." in caption
    # outputs as a terminal shows them; no escape character reaches xelatex
    assert "\x1b" not in tex and "\r" not in tex
    # as Jupyter shows it: a carriage return starts the line again
    assert "\n100\\PYGZpc{}\n" in body and "danger" not in body
    # hide-input: the output without the code
    assert "shown output" in body and "hidden" not in body
    # the style is copied and loaded
    assert (out / "linbook_latex.sty").is_file() and "\\usepackage{linbook_latex}" in tex


def test_use_svg_display_stores_svg_for_html_and_pdf_for_latex(tmp_path):
    outputs = execute_cell(
        "import matplotlib.pyplot as plt\n"
        "from linbook import use_svg_display\n"
        "use_svg_display()\n"
        "plt.plot([0, 1], [1, 0])\n"
        "plt.show()",
        tmp_path,
    )
    bundles = [o["data"] for o in outputs if "data" in o]
    assert len(bundles) == 1, json.dumps(outputs)[:500]
    assert {"image/svg+xml", "application/pdf"} <= set(bundles[0])
    assert "image/png" not in bundles[0]
