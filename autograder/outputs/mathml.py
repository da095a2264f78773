"""The maths of rendered markdown as MathML, typeset once when the page is made.

A browser shows MathML by itself (Chromium since 109, Firefox, Safari), so a page whose maths
is MathML needs no MathJax at all: it shows its maths alone and offline, and weighs what it
says. Feedback pages carried a 2.2 MB MathJax (then shared one per student, 0.8 MB zipped in
every archive). The TeX is converted by latex2mathml, as Jupyter's delimiters mark it: $...$
and \\(...\\) inline, $$...$$ and \\[...\\] displayed, \\$ a dollar; never inside code. A
formula it cannot convert stays as its TeX. What comes out is then cleaned by the page's
allowlist (autograder.outputs.sanitize) like everything else: a student's maths is theirs.
"""

import functools
import html
import re
import threading
import time
from html.parser import HTMLParser

from latex2mathml.converter import convert

# where TeX is not maths: code, and what is no text at all
_NOT_MATHS = {"code", "pre", "script", "style", "textarea", "math"}
# the delimiters, in the order they are tried where one starts: (opener, closer, display)
_DELIMITERS = (("$$", "$$", True), ("\\[", "\\]", True), ("\\(", "\\)", False), ("$", "$", False))
_OPENER = re.compile(r"\$\$|\\\[|\\\(|\$")
_DOLLAR = "\ue000"  # stands for an escaped \$ while the maths is found (a private-use char)
# what a student's markdown may cost the grader: a formula is at most MAX_TEX characters
# (longer is left as text), and typesetting a page at most PAGE_SECONDS of CPU (what is
# left then stays TeX); every formula of the course's own markdown takes a few ms at most
MAX_TEX = 2000
PAGE_SECONDS = 2.0
PAGE_FORMULAS = 3000  # a lesson has at most about 300; each is MathML the page then cleans


class _Page:
    """The typesetting budget of the page being rendered."""

    def __init__(self):
        self.spent, self.formulas = 0.0, 0
        self.complete = True  # every formula found was typeset

    def afford(self):
        self.formulas += 1
        ok = self.spent < PAGE_SECONDS and self.formulas <= PAGE_FORMULAS
        self.complete = self.complete and ok
        return self.complete


# each thread's page (a Dask worker renders pages on several threads at once)
_thread = threading.local()


def _page():
    if not hasattr(_thread, "page"):
        _thread.page = _Page()
    return _thread.page


def new_page():
    """A page starts: a new budget (autograder.record.preprocessors.SanitizeOutputs, which
    every page rendered from a notebook runs first)."""
    _thread.page = _Page()


def page_complete():
    """Whether every formula of the page so far was typeset within its budget."""
    return _page().complete


# bold letters, digits and Greek as Unicode's mathematical alphanumeric symbols: Chromium
# draws mathvariant="normal" only, so \mathbf{p} in bold must be the character 𝐩 itself
_FIRST = {  # variant -> (A, a, 0, Greek capital Alpha, Greek small alpha)
    "bold": (0x1D400, 0x1D41A, 0x1D7CE, 0x1D6A8, 0x1D6C2),
    "bold-italic": (0x1D468, 0x1D482, 0x1D7CE, 0x1D71C, 0x1D736),
}
_VARIANT = re.compile(r'<(mi|mn) mathvariant="(bold|bold-italic)">([^<]*)</\1>')


def _styled(char, variant):
    upper, lower, digit, greek_upper, greek_lower = _FIRST[variant]
    code = ord(char)
    for first, start, count in (
        ("A", upper, 26),
        ("a", lower, 26),
        ("0", digit, 10),
        ("\u0391", greek_upper, 25),
        ("\u03b1", greek_lower, 25),
    ):
        if 0 <= code - ord(first) < count:
            return chr(start + code - ord(first))
    return char


def _unicode_variants(mathml):
    def styled(match):
        tag, variant, text = match.groups()
        text = "".join(_styled(c, variant) for c in html.unescape(text))
        return f"<{tag}>{html.escape(text, quote=False)}</{tag}>"

    return _VARIANT.sub(styled, mathml)


@functools.lru_cache(maxsize=4096)
def formula(tex, display):
    """One formula as MathML, or None when latex2mathml cannot read it."""
    try:
        mathml = convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # any TeX a student wrote: what cannot be read stays as it was
        return None
    return _unicode_variants(mathml)


def _formulas(text):
    """(start, end, TeX, display) of each formula of text, in order, by Jupyter's
    delimiters. Linear in the text: each closer is searched for once from where the last
    search ended, and a formula longer than MAX_TEX is not one."""
    found, next_closer, start = [], {}, 0
    for opening in _OPENER.finditer(text):
        i = opening.start()
        if i < start:
            continue  # inside the formula just found
        for opener, closer, display in _DELIMITERS:
            if not text.startswith(opener, i):
                continue
            if opener == "$" and i and text[i - 1] in "\\$":
                continue
            inner = i + len(opener)
            at = next_closer.get(closer, -1)
            if at <= inner:  # from inner + 1: a formula is not empty; none is len(text)
                at = text.find(closer, inner + 1) % (len(text) + 1)
                next_closer[closer] = at
            if at == len(text) or at - inner > MAX_TEX or "$" in text[inner:at][:1]:
                continue
            found.append((i, at + len(closer), text[inner:at], display))
            start = at + len(closer)
            break
    return found


def _typeset_text(text):
    """A text node's HTML: its maths as MathML (within the page's budget), the rest escaped."""
    text = text.replace("\\$", _DOLLAR)
    parts, end = [], 0
    page = _page()
    for start, stop, tex, display in _formulas(text):
        if not page.afford():
            break
        cpu = time.thread_time()
        mathml = formula(tex.replace(_DOLLAR, "\\$"), display)
        page.spent += time.thread_time() - cpu
        if mathml is None:
            continue
        parts += [html.escape(text[end:start], quote=False), mathml]
        end = stop
    parts.append(html.escape(text[end:], quote=False))
    return "".join(parts).replace(_DOLLAR, "$")


class _Typesetter(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.skipping = [], []

    def handle_starttag(self, tag, attrs):
        self.out.append(self.get_starttag_text())
        if tag in _NOT_MATHS:
            self.skipping.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.out.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        self.out.append(f"</{tag}>")
        if tag in self.skipping:
            del self.skipping[len(self.skipping) - 1 - self.skipping[::-1].index(tag) :]

    def handle_data(self, data):
        if self.skipping and self.skipping[-1] in ("script", "style"):
            self.out.append(data)  # raw text, as it came
        elif self.skipping:
            self.out.append(html.escape(data, quote=False))
        else:
            self.out.append(_typeset_text(data))

    def handle_comment(self, data):
        self.out.append(f"<!--{data}-->")


def typeset(fragment):
    """The HTML fragment (rendered markdown) with its maths as MathML."""
    parser = _Typesetter()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.out)
