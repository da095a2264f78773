"""The maths of rendered markdown as MathML, typeset once when the page is made.

A browser shows MathML by itself (Chromium since 109, Firefox, Safari), so a page whose maths
is MathML needs no MathJax at all: it shows its maths alone and offline, and weighs what it
says. Feedback pages carried a 2.2 MB MathJax (then shared one per student, 0.8 MB zipped in
every archive). The TeX is converted by latex2mathml, as Jupyter's delimiters mark it: $...$
and \\(...\\) inline, $$...$$ and \\[...\\] displayed, \\$ a dollar; never inside code. A
formula it cannot convert stays as its TeX. What comes out is then cleaned by the page's
allowlist (autograder.outputs.sanitize) like everything else: a student's maths is theirs.
"""

import html
import re
from html.parser import HTMLParser

from latex2mathml.converter import convert

# where TeX is not maths: code, and what is no text at all
_NOT_MATHS = {"code", "pre", "script", "style", "textarea", "math"}
_MATHS = re.compile(
    r"\$\$(?P<display>.+?)\$\$|\\\[(?P<bracket>.+?)\\\]|\\\((?P<paren>.+?)\\\)"
    r"|(?<![\\$])\$(?P<inline>[^$]+?)\$",
    re.S,
)
_DOLLAR = "\ue000"  # stands for an escaped \$ while the maths is found (a private-use char)


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


def formula(tex, display):
    """One formula as MathML, or None when latex2mathml cannot read it."""
    try:
        mathml = convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # any TeX a student wrote: what cannot be read stays as it was
        return None
    return _unicode_variants(mathml)


def _typeset_text(text):
    """A text node's HTML: its maths as MathML, the rest escaped."""
    text = text.replace("\\$", _DOLLAR)
    parts, end = [], 0
    for match in _MATHS.finditer(text):
        display = match.group("display") or match.group("bracket")
        tex = display or match.group("paren") or match.group("inline")
        mathml = formula(tex.replace(_DOLLAR, "\\$"), display is not None)
        if mathml is None:
            continue
        parts += [html.escape(text[end : match.start()], quote=False), mathml]
        end = match.end()
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
