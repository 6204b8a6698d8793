"""One term per concept: no retired variant of a term appears in the book's prose.

The terms and their retired variants have one source, the glossary (``glossary.md``): each
entry of its ``{glossary}`` blocks lists the variants after “又称：”. This test reads them from
there and looks for them in the prose of every chapter (``chapters/*.md``: markdown cells,
headings, table and figure captions) and of the root pages ``intro.md`` and ``glossary.md``.

Not prose, hence never checked: code (code cells, fenced code blocks, inline ```code```), math
(``$...$``, ``$$...$$``, ``{math}`` roles and blocks, ``\\begin{...}`` environments), the
targets of roles and links (a ``{term}`` role's text is prose: it shows a glossary term), URLs,
labels and directive options, text inside Chinese quotation marks “…” (a variant may be quoted
to be discussed), and the glossary's own “又称” lists.

:func:`missing_term_links` checks the links: a chapter links, with ``{term}``, every glossary
term that the glossary says it introduces, at or before its first emphasised mention.

Two more rules say where a variant is legitimate:

- a variant that is part of its own entry's term is that term (超参 inside 超参数);
- :data:`CONTEXT_RULES`, a short explicit table (精度 for numeric precision, 轮（epoch） and
  暂退法（dropout） at a first mention ...).

A failure lists file, line, the variant, the term to use instead, and the line's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GLOSSARY = REPO / "glossary.md"
PAGES = sorted((REPO / "chapters").glob("*.md")) + [REPO / "intro.md", GLOSSARY]

#: Where a variant is legitimate: a match of one of these patterns that covers the variant.
#: Keep this table short; every rule is a reason the glossary cannot express.
CONTEXT_RULES: dict[str, tuple[str, ...]] = {
    # 精度 is numeric precision (never accuracy, which is 准确率)
    "精度": (r"(?:单|双|半|浮点|数值|混合)精度",),
    # the period of a cosine (a schedule's shape) or of a clock, not an epoch
    "周期": (r"余弦周期", r"时钟周期"),
    # the English name in parentheses at a first mention: 轮（epoch）, *暂退法*（dropout）,
    # {term}`轮`（epoch） (the role's markup is masked to spaces)
    "epoch": (r"轮[*_ ]*（\s*epochs?",),
    "dropout": (r"暂退法[*_ ]*（\s*dropout",),
    # 过 + 学习率 (胜过学习率 ...), not the retired 过学习
    "过学习": (r"过学习率",),
}

#: Directives whose content is code or data, never prose.
CODE_DIRECTIVES = {
    "code-cell",
    "code",
    "code-block",
    "sourcecode",
    "math",
    "eval-rst",
    "raw",
    "literalinclude",
    "glue:md",
    "glue:figure",
    "glue:any",
    "glue:math",
    "glue",
    "bibliography",
    "tableofcontents",
}
#: Directives whose argument is a label or a key (the argument of any other is prose).
LABEL_ARGUMENT = CODE_DIRECTIVES | {
    "solution-start",
    "solution-end",
    "solution",
    "exercise-start",
    "exercise-end",
    "only",
    "include",
}
#: Roles whose explicit title (``{ref}`title <target>` ``) is prose; of any role the target is not.
TITLED_ROLES = {"ref", "doc", "numref", "term", "eq", "download"}

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[\w:.-]+)\}(?P<arg>.*)$")
_OPTION = re.compile(r"^\s*:[\w-]+:(\s.*)?$")
_LABEL_LINE = re.compile(r"^\s*\([\w:.-]+\)=\s*$")
_CAPTION = re.compile(r"^\s*caption:\s*(?P<text>.*)$")
_SPAN = r"(?:(?!\n[ \t]*\n).)+?"  # a span of text within one paragraph
_ROLE = re.compile(rf"\{{(?P<role>[\w:.-]+)\}}(?P<ticks>`+)(?P<body>{_SPAN})(?P=ticks)", re.S)
_CODE = re.compile(rf"(?P<ticks>`+)(?!`)(?P<body>{_SPAN})(?<!`)(?P=ticks)(?!`)", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?=\S)(?:[^$\n]|\\\$)+?(?<![\\\s])\$(?!\$)")
_DISPLAY_MATH = re.compile(r"\$\$.+?\$\$", re.S)
_ENVIRONMENT = re.compile(r"\\begin\{(?P<env>[\w*]+)\}.*?\\end\{(?P=env)\}", re.S)
_URL = re.compile(r"<https?://[^>\s]+>|https?://[^\s)>\]）」”]+")
_LINK_TARGET = re.compile(r"\]\((?P<target>[^)\s]+)\)")
_HTML = re.compile(r"<!--.*?-->|</?[A-Za-z][^<>\n]*>", re.S)
_QUOTE = re.compile(r"“(?:(?![“”]|\n[ \t]*\n).)*?”", re.S)  # within one paragraph
_ALSO_CALLED = re.compile(r"又称：(?P<list>[^。\n]+)")


@dataclass(frozen=True)
class Entry:
    """A glossary entry: its terms (Chinese, English ...) and its retired variants."""

    terms: tuple[str, ...]
    variants: tuple[str, ...]
    definition: str
    line: int


@dataclass(frozen=True)
class Hit:
    """A retired variant found in the prose."""

    line: int
    variant: str
    term: str
    text: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.variant} (use {self.term}): {self.text}"


def _entry(terms: list[str], definition: list[str], line: int) -> Entry:
    body = " ".join(definition)
    variants = [
        v.strip() for m in _ALSO_CALLED.finditer(body) for v in m["list"].split("、") if v.strip()
    ]
    return Entry(tuple(terms), tuple(variants), body, line)


def parse_glossary(text: str) -> list[Entry]:
    """The entries of every ``{glossary}`` block of a MyST page, in order.

    In a block, an entry is one or more term lines (not indented) followed by its indented
    definition; options (``:sorted:``) and blank lines are skipped.
    """
    entries: list[Entry] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        i += 1
        if not (opening and opening["info"].strip().startswith("{glossary}")):
            continue
        terms: list[str] = []
        definition: list[str] = []
        start = i
        while i < len(lines) and lines[i].strip() != opening["fence"]:
            line = lines[i]
            if not line.strip() or (_OPTION.match(line) and not terms):
                pass
            elif line[0].isspace():
                definition.append(line.strip())
            else:
                if definition:  # a term line after a definition starts the next entry
                    entries.append(_entry(terms, definition, start + 1))
                    terms, definition, start = [], [], i
                terms.append(line.strip())
            i += 1
        if terms:
            entries.append(_entry(terms, definition, start + 1))
        i += 1
    return entries


def _blank(chars: list[str], start: int, end: int) -> None:
    for k in range(start, end):
        if chars[k] != "\n":
            chars[k] = " "


def prose_mask(text: str, glossary: bool = False) -> str:
    """``text`` with everything that is not prose replaced by spaces (line breaks kept).

    Offsets and line numbers of the result are those of ``text``.
    """
    return _scan(text, glossary)[0]


def fence_problems(text: str) -> list[str]:
    """Fences that do not open or close as the author meant (then no check here is reliable)."""
    return _scan(text)[1]


def _scan(text: str, glossary: bool = False) -> tuple[str, list[str]]:
    problems: list[str] = []
    chars = list(text)
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    # 1. front matter, fences, directive options, labels, cell separators (line by line)
    stack: list[tuple[str, str]] = []  # (fence, kind of content: "code", "prose", "glossary")
    opened: list[int] = []  # the line each open fence was opened on
    in_options = in_yaml = False
    first = 0
    if text.startswith("---\n"):
        end = next((k for k in range(1, len(lines)) if lines[k].rstrip() == "---"), 0)
        _blank(chars, 0, offsets[end + 1])
        first = end + 1
    for k in range(first, len(lines)):
        line, start, stop = lines[k].rstrip("\n"), offsets[k], offsets[k + 1]
        stripped = line.strip()
        fence = _FENCE.match(line)
        if fence and fence["fence"][0] == "`" and "`" in fence["info"]:
            # CommonMark: a backtick fence's info string holds no backtick, so this line is
            # not a fence at all and the blocks after it pair up wrongly
            problems.append(
                f"line {k + 1}: a backtick inside the argument of a ``` fence ({stripped[:60]}); "
                "drop the backticks or use a ::: fence"
            )
            fence = None
        kind = stack[-1][1] if stack else "prose"
        if (
            stack
            and fence
            and fence["fence"][0] == stack[-1][0][0]
            and len(fence["fence"]) >= len(stack[-1][0])
            and not fence["info"].strip()
        ):
            stack.pop()  # the closing fence of the innermost block
            opened.pop()
            _blank(chars, start, stop)
            in_options = in_yaml = False
            continue
        if kind == "code":
            if in_options and stripped == "---":
                in_yaml, in_options = True, False
                _blank(chars, start, stop)
            elif in_yaml and stripped == "---":
                in_yaml = False
                _blank(chars, start, stop)
            elif in_yaml and _CAPTION.match(line):  # a figure caption in a cell's metadata
                _blank(chars, start, start + _CAPTION.match(line).start("text"))
            else:
                in_options = in_options and bool(_OPTION.match(line))
                _blank(chars, start, stop)
            continue
        if fence:
            info = fence["info"].strip()
            directive = _DIRECTIVE.match(info)
            if fence["fence"][0] == ":" and not directive:
                _blank(chars, start, stop)  # a colon fence that closes nothing open here
                continue
            name = directive["name"] if directive else ""
            if not directive or name in CODE_DIRECTIVES:
                kind = "code"
            else:
                kind = "glossary" if name == "glossary" else "prose"
            stack.append((fence["fence"], kind))
            opened.append(k + 1)
            in_options, in_yaml = True, False
            if directive and name not in LABEL_ARGUMENT:  # the argument (a caption) is prose
                _blank(chars, start, start + line.index(info) + len(name) + 2)
            else:
                _blank(chars, start, stop)
            continue
        if in_yaml or (in_options and (_OPTION.match(line) or stripped == "---")):
            if stripped == "---":  # a directive's YAML options open or close
                in_yaml = not in_yaml
            _blank(chars, start, stop)
            continue
        in_options = False
        if (
            _LABEL_LINE.match(line)
            or stripped == "+++"
            or line.startswith("%")
            or (kind == "glossary" and stripped and not line[0].isspace())  # a term line
        ):
            _blank(chars, start, stop)

    problems += [f"line {n}: this fence is never closed" for n in opened]

    # 2. inline spans, on what is left
    masked = "".join(chars)

    def blank_matches(pattern: re.Pattern, keep=None) -> None:
        nonlocal masked
        for m in pattern.finditer(masked):
            kept = keep(m) if keep else None
            if kept is None:
                _blank(chars, m.start(), m.end())
            else:
                _blank(chars, m.start(), kept[0])
                _blank(chars, kept[1], m.end())
        masked = "".join(chars)

    def role_title(m: re.Match) -> tuple[int, int] | None:
        titled = re.match(r"(?P<title>.+?)\s*<[^<>]+>$", m["body"], re.S)
        if m["role"] in TITLED_ROLES and titled:
            begin = m.start("body")
            return begin, begin + titled.end("title")
        if m["role"] == "term":  # {term}`轮` shows its target, a glossary term: prose
            return m.start("body"), m.end("body")
        return None

    blank_matches(_ROLE, role_title)
    blank_matches(_CODE)
    blank_matches(_DISPLAY_MATH)
    blank_matches(_ENVIRONMENT)
    blank_matches(_INLINE_MATH)
    blank_matches(_LINK_TARGET)
    blank_matches(_URL)
    blank_matches(_HTML)
    blank_matches(_QUOTE)
    if glossary:
        blank_matches(_ALSO_CALLED)
    return masked, problems


def _pattern(variant: str) -> re.Pattern:
    if variant.isascii():  # an English word: whole words, any case, plural too
        return re.compile(rf"(?<![A-Za-z0-9_-]){re.escape(variant)}(?:s)?(?![A-Za-z0-9_-])", re.I)
    return re.compile(re.escape(variant))


def find_variants(text: str, entries: list[Entry], glossary: bool = False) -> list[Hit]:
    """Every retired variant in the prose of ``text``, with its line (1-based)."""
    masked = prose_mask(text, glossary=glossary)
    source_lines = text.splitlines()
    hits: dict[tuple[int, int], Hit] = {}
    for entry in entries:
        for variant in entry.variants:
            own = [  # the variant as part of a longer term of its entry (超参 in 超参数)
                (m.start(), m.end())
                for t in entry.terms
                if variant in t and variant != t
                for m in re.finditer(re.escape(t), masked)
            ]
            allowed = [
                (m.start(), m.end())
                for rule in CONTEXT_RULES.get(variant, ())
                for m in re.finditer(rule, masked, re.I)
            ]
            for m in _pattern(variant).finditer(masked):
                covered = [(a, b) for a, b in own + allowed if a <= m.start() and m.end() <= b]
                if covered:
                    continue
                line = masked.count("\n", 0, m.start()) + 1
                key = (line, m.start())
                # a longer variant (迭代周期) wins over one inside it (周期)
                longest = hits.get(key)
                if longest is None or len(longest.variant) < len(m[0]):
                    hits[key] = Hit(line, m[0], entry.terms[0], source_lines[line - 1].strip())
    # drop a hit that lies inside a longer one (周期 in 迭代周期)
    spans = sorted(hits.items(), key=lambda kv: kv[0][1])
    result: list[Hit] = []
    last_end = -1
    for (_, begin), hit in spans:
        if begin < last_end:
            continue
        result.append(hit)
        last_end = begin + len(hit.variant)
    return sorted(result, key=lambda h: (h.line, h.variant))


def find_corner_quotes(text: str) -> list[Hit]:
    """「」 in the prose (the book quotes with “”)."""
    masked = prose_mask(text)
    source_lines = text.splitlines()
    return [
        Hit(line, "「」", "“”", source_lines[line - 1].strip())
        for line, masked_line in enumerate(masked.splitlines(), start=1)
        if "「" in masked_line or "」" in masked_line
    ]


ENTRIES = parse_glossary(GLOSSARY.read_text(encoding="utf-8"))
TERMS = {t for e in ENTRIES for t in e.terms}

#: Concepts the glossary must define (the book uses each of them).
REQUIRED_TERMS = (
    "线性回归", "损失函数", "平方损失", "梯度下降", "小批量随机梯度下降", "学习率", "超参数", "轮",
    "批量大小", "训练集", "验证集", "测试集", "过拟合", "欠拟合", "泛化误差", "正则化", "权重衰减",
    "暂退法", "早停", "交叉验证", "K 折交叉验证", "softmax", "交叉熵", "准确率", "独热编码", "临界点",
    "鞍点", "动量", "自适应学习率", "Adam", "AdamW", "学习率调度", "预热", "余弦退火", "批量标准化",
    "标准化", "集成", "容量",
)  # fmt: skip


def _report(page: Path, hits: list[Hit]) -> str:
    """One line per (line, variant) of ``page``: file, line, variant, term, the line's text."""
    name = page.relative_to(REPO).as_posix()
    counts: dict[tuple[int, str], int] = {}
    for h in hits:
        counts[h.line, h.variant] = counts.get((h.line, h.variant), 0) + 1
    lines, shown = [], set()
    for h in hits:
        if (h.line, h.variant) not in shown:
            shown.add((h.line, h.variant))
            times = counts[h.line, h.variant]
            lines.append(f"  {name}, {h}" + (f"  [{times} times]" if times > 1 else ""))
    return f"{len(hits)} in {name}:\n" + "\n".join(lines)


# ---------------------------------------------------------------------------
# The glossary itself
# ---------------------------------------------------------------------------


def test_glossary_defines_every_required_term():
    missing = [t for t in REQUIRED_TERMS if t not in TERMS]
    assert not missing, f"glossary.md lacks the terms {missing}"


def test_every_entry_has_a_chinese_and_an_english_term_a_definition_and_a_chapter():
    for entry in ENTRIES:
        where = f"glossary.md, line {entry.line} ({entry.terms[0]})"
        assert len(entry.terms) >= 2, f"{where}: give the Chinese and the English term"
        assert any(t.isascii() for t in entry.terms), f"{where}: no English term"
        assert "{doc}`chapters/" in entry.definition, f"{where}: say where it is introduced"
        assert len(entry.definition) > 20, f"{where}: the definition is missing"


def test_variants_are_unique_and_never_another_entry_s_term():
    seen: dict[str, str] = {}
    for entry in ENTRIES:
        for variant in entry.variants:
            assert variant not in seen, (
                f"{variant} is listed for {seen[variant]} and {entry.terms[0]}"
            )
            seen[variant] = entry.terms[0]
            others = TERMS - set(entry.terms)
            assert variant not in others, f"{variant} (retired for {entry.terms[0]}) is also a term"


def test_the_book_s_retired_variants_are_in_the_glossary():
    variants = {v: e.terms[0] for e in ENTRIES for v in e.variants}
    for variant, term in {
        "周期": "轮",
        "迭代周期": "轮",
        "epoch": "轮",
        "开发集": "验证集",
        "丢弃法": "暂退法",
        "dropout": "暂退法",
        "精度": "准确率",
        "批量归一化": "批量标准化",
    }.items():
        assert variants.get(variant) == term, f"{variant} should be a retired variant of {term}"


# ---------------------------------------------------------------------------
# The checker checks what it should (self-tests on planted text)
# ---------------------------------------------------------------------------

PLANTED = """\
---
jupytext:
  formats: ipynb,md:myst
---

# 2.9 测试页

(sec-test-epoch)=
## 每个周期的损失

第二段写着训练了 3 个迭代周期，测试精度为 0.9。

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: 每个周期的训练损失。
    name: fig-test-epoch
---
for epoch in range(3):  # 周期, 精度, dropout
    pass
```
"""

IGNORED = """\
下面都不是正文里的术语：`num_epochs` 和 ``周期`` 是代码，$\\text{周期}$ 与 {math}`\\text{精度}` 是公式，
“开发集”是引用，<https://example.com/epoch/dropout> 是网址，[链接](https://x.org/周期) 的目标也不是。

$$
\\text{开发集} = \\text{周期}
$$

```bash
echo 开发集 周期 epoch
```

````{solution-start} ex-test-epoch
:class: dropdown
````

```{exercise}
:label: ex-dropout-epoch

每一轮（epoch）里，暂退法（dropout）以单精度计算，学习率按余弦周期变化，每个时钟周期算两次，超参数不变。
引用一节：{ref}`sec-epoch-dropout`，{doc}`epoch`。
```

```{code-cell} ipython3
:tags: [remove-cell]

x = "迭代周期 开发集 丢弃法"
```
"""


def test_checker_finds_planted_variants_in_headings_prose_and_captions():
    hits = find_variants(PLANTED, ENTRIES)
    found = [(h.line, h.variant, h.term) for h in hits]
    assert (9, "周期", "轮") in found, hits  # the heading
    assert (11, "迭代周期", "轮") in found, hits  # the longer variant, reported once
    assert (11, "精度", "准确率") in found, hits
    assert (17, "周期", "轮") in found, hits  # the figure caption
    assert not [h for h in hits if h.line in (8, 20)], hits  # the label, the code
    assert len(hits) == 4, hits
    assert "3 个迭代周期" in next(h.text for h in hits if h.line == 11)


def test_checker_ignores_code_math_quotes_urls_labels_and_the_context_rules():
    assert find_variants(IGNORED, ENTRIES) == []
    # an unbalanced quotation mark or backtick hides nothing beyond its own paragraph
    assert [h.line for h in find_variants("“周期\n\n周期。\n\n`x\n\n周期。", ENTRIES)] == [1, 3, 7]
    # the same words in plain prose are found
    plain = "每个周期、开发集、丢弃法、dropout、Epochs、精度。"
    assert {h.variant for h in find_variants(plain, ENTRIES)} == {
        "周期",
        "开发集",
        "丢弃法",
        "dropout",
        "Epochs",
        "精度",
    }


def test_checker_ignores_the_glossary_s_also_called_lists_only_in_the_glossary():
    text = "```{glossary}\n轮\nepoch\n  把训练集遍历一遍。又称：周期、迭代周期、epoch。\n```\n"
    assert find_variants(text, ENTRIES, glossary=True) == []
    assert [(h.line, h.variant) for h in find_variants(text, ENTRIES)] == [
        (4, "epoch"),
        (4, "周期"),
        (4, "迭代周期"),
    ]


def test_checker_reports_a_backtick_in_a_fence_argument_and_an_unclosed_fence():
    broken = "````{table} Caption with `code`.\n:name: tab-x\n\n| a |\n| - |\n````\n"
    problems = fence_problems(broken)
    assert len(problems) == 2 and "line 1: a backtick" in problems[0], problems
    assert "line 6: this fence is never closed" in problems[1], problems
    assert fence_problems("```{exercise}\n:label: ex-x\n\ntext\n```\n") == []


def test_checker_finds_corner_quotes_outside_code():
    assert [h.line for h in find_corner_quotes("一行「引号」。\n`「代码」`\n")] == [1]


# ---------------------------------------------------------------------------
# The book
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_fences_pair_up(page):
    problems = fence_problems(page.read_text(encoding="utf-8"))
    name = page.relative_to(REPO).as_posix()
    assert not problems, f"{name}:\n" + "\n".join(f"  {name}, {p}" for p in problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_prose_uses_no_retired_variant(page):
    text = page.read_text(encoding="utf-8")
    hits = find_variants(text, ENTRIES, glossary=page == GLOSSARY)
    assert not hits, _report(page, hits)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_prose_quotes_with_chinese_quotation_marks(page):
    hits = find_corner_quotes(page.read_text(encoding="utf-8"))
    assert not hits, _report(page, hits)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_term_roles_name_glossary_terms(page):
    text = page.read_text(encoding="utf-8")
    unknown = []
    for m in re.finditer(r"\{term\}`([^`]+)`", text):
        target = re.sub(r"^.*<([^<>]+)>$", r"\1", m[1].strip(), flags=re.S)
        if target not in TERMS:
            unknown.append(target)
    assert not unknown, f"{page.name}: {{term}} roles to terms the glossary lacks: {unknown}"


# ---------------------------------------------------------------------------
# Links: every chapter links the glossary terms it introduces
# ---------------------------------------------------------------------------

_INTRODUCED_IN = re.compile(r"见 \{doc\}`chapters/(?P<page>[\w-]+)`")
_TERM_ROLE = re.compile(r"\{term\}`(?P<body>[^`]+)`")
_SENTINEL = "\u24c9" * len("{term}")  # same length as "{term}", never in the book


def introduced_in(entry: Entry) -> str | None:
    """The chapter (``chapters/<name>.md``'s name) where the glossary says ``entry`` is introduced."""
    m = _INTRODUCED_IN.search(entry.definition)
    return m["page"] if m else None


def term_links(text: str) -> list[tuple[int, str]]:
    """``(offset, target)`` of every ``{term}`` role in the prose of ``text`` (not in code)."""
    masked = prose_mask(text.replace("{term}", _SENTINEL))
    links = []
    for m in _TERM_ROLE.finditer(text):
        if masked[m.start() : m.start() + len(_SENTINEL)] != _SENTINEL:
            continue  # inside a code cell or a fenced code block
        target = re.sub(r"^.*<([^<>]+)>$", r"\1", m["body"].strip(), flags=re.S).strip()
        links.append((m.start(), target))
    return links


def missing_term_links(text: str, page: str, entries: list[Entry]) -> list[str]:
    """The problems with the links of ``page``'s introduced terms, one line each.

    A term introduced in ``page`` (per the glossary) must be linked there with ``{term}``, and
    the first link must come no later than the first emphasised mention (``*term*``), i.e.
    the link sits where the term is introduced, not somewhere after it.
    """
    links = term_links(text)
    masked = prose_mask(text)
    problems = []
    for entry in entries:
        if introduced_in(entry) != page:
            continue
        offsets = [offset for offset, target in links if target in entry.terms]
        if not offsets:
            problems.append(f"{entry.terms[0]}: never linked (write {{term}}`{entry.terms[0]}`)")
            continue
        for term in entry.terms:
            emphasised = re.search(
                rf"(?<![*\w])\*{{1,2}}{re.escape(term)}\*{{1,2}}(?![*\w])", masked
            )
            if emphasised and emphasised.start() < offsets[0]:
                line = masked.count("\n", 0, emphasised.start()) + 1
                problems.append(
                    f"{entry.terms[0]}: introduced as *{term}* on line {line}, before its first "
                    "{term} link: put the link there"
                )
    return problems


def test_link_checker_on_planted_text():
    entries = [
        Entry(("轮", "epoch"), (), "把训练集遍历一遍。见 {doc}`chapters/demo`。", 1),
        Entry(("学习率", "learning rate"), (), "步长。见 {doc}`chapters/demo`。", 2),
        Entry(("批量大小", "batch size"), (), "样本数。见 {doc}`chapters/demo`。", 3),
        Entry(("基线", "baseline"), (), "比较的起点。见 {doc}`chapters/other`。", 4),
    ]
    text = (
        "遍历一遍叫一{term}`轮 <epoch>`。*学习率*（learning rate）很重要，{term}`学习率`见术语表。\n\n"
        "```{code-cell} ipython3\nx = '{term}`批量大小`'\n```\n"
    )
    problems = missing_term_links(text, "demo", entries)
    assert len(problems) == 2, problems
    assert problems[0].startswith("学习率: introduced as *学习率* on line 1"), problems
    assert problems[1].startswith("批量大小: never linked"), problems  # a link in code is no link
    assert missing_term_links(text, "other", entries) == ["基线: never linked (write {term}`基线`)"]


def test_glossary_says_where_each_term_is_introduced_and_that_page_exists():
    for entry in ENTRIES:
        page = introduced_in(entry)
        assert page, (
            f"glossary.md, line {entry.line} ({entry.terms[0]}): no 见 {{doc}}`chapters/...`"
        )
        assert (REPO / "chapters" / f"{page}.md").is_file(), (
            f"glossary.md, line {entry.line} ({entry.terms[0]}): chapters/{page}.md does not exist "
            "(a chapter was renamed or split: point the entry to the page that introduces it now)"
        )


CHAPTERS = sorted((REPO / "chapters").glob("*.md"))


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_chapter_links_the_terms_it_introduces(page):
    problems = missing_term_links(page.read_text(encoding="utf-8"), page.stem, ENTRIES)
    name = page.relative_to(REPO).as_posix()
    assert not problems, (
        f"{name} introduces these glossary terms (glossary.md says so) without a {{term}} link "
        "where it introduces them:\n" + "\n".join(f"  {name}: {p}" for p in problems)
    )
