"""What a student's notebook shows, made inert on every page rendered from it.

Feedback pages (nbgrader's generate_feedback) and formgrader render notebooks with
nbconvert's HTMLExporter, which the course configures (autograder.course): the outputs of
code cells go through nbconvert's SanitizeHTML (autograder.record.preprocessors.
SanitizeOutputs: JavaScript, widgets and every kind of output but text and pictures
dropped), and with HTMLExporter.sanitize_html its templates clean the HTML they render with
`clean_html` below. It keeps what markdown renders to (headings, lists, tables, code,
links, maths as text, pictures inside the page) and nothing that runs or fetches: no script,
style, iframe, form or event handler, no javascript: URL, a picture only from a data: URL.
What it does not keep is shown escaped, as text.
"""

import re

import bleach
from nbconvert.filters.strings import strip_files_prefix

from autograder.outputs import mathml

# MathML as latex2mathml writes it (autograder.outputs.mathml): presentation elements only,
# none that links (href), acts (maction) or holds HTML (annotation-xml)
MATHML_TAGS = {
    *("math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup"),
    *("mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd"),
    *("mstyle", "mpadded", "mphantom", "menclose", "merror", "semantics", "annotation"),
}
MATHML_ATTRIBUTES = {
    *("display", "mathvariant", "mathcolor", "mathsize", "stretchy", "fence", "separator"),
    *("form", "lspace", "rspace", "largeop", "movablelimits", "symmetric", "minsize"),
    *("maxsize", "accent", "accentunder", "displaystyle", "scriptlevel", "linethickness"),
    *("columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines"),
    *("frame", "notation", "width", "height", "depth", "voffset", "encoding", "xmlns"),
}
TAGS = {
    *("a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd"),
    *("del", "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3"),
    *("h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre"),
    *("q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table"),
    *("tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var"),
    *MATHML_TAGS,
}
ATTRIBUTES = {
    "*": {"class", "title"},  # no id: one could take the id formgrader gives a grade's box
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
LINKS = ("http", "https", "mailto")  # the schemes a link may have; else only "#..." in the page
PICTURES = "data:image/"  # the only source of a picture: inside the page, fetched from nowhere
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")
# what a browser ignores in a URL (so `java\tscript:` is javascript:)
_IGNORED_IN_URLS = re.compile(r"[\x00-\x20\x7f]+")


def _allowed(tag, name, value):
    if tag in MATHML_TAGS:
        return name in MATHML_ATTRIBUTES and (name != "xmlns" or value == MATHML_NAMESPACE)
    if name not in ATTRIBUTES["*"] | ATTRIBUTES.get(tag, set()):
        return False
    url = _IGNORED_IN_URLS.sub("", value).lower()
    if (tag, name) == ("img", "src"):
        return url.startswith(PICTURES)
    if (tag, name) == ("a", "href"):  # a link out, or within the page; not //host/...
        scheme = _SCHEME.match(url)
        return url.startswith("#") or (scheme is not None and scheme.group(1) in LINKS)
    return True


def clean_html(html):
    """html with only what the course's pages may show (nbconvert's `clean_html` filter, with
    an allowlist for rendered markdown)."""
    html = html.decode() if isinstance(html, bytes) else str(html)
    return bleach.clean(html, tags=TAGS, attributes=_allowed, protocols={*LINKS, "data"})


def clean_rendered_markdown(html):
    """nbconvert's `strip_files_prefix` filter, the maths typeset as MathML, then
    `clean_html`. Every template pipes its rendered markdown cells through
    strip_files_prefix, nbgrader's feedback and formgrade templates included, but those leave
    out the clean_html that nbconvert's own templates add when HTMLExporter.sanitize_html is
    set: under that filter's name, they get it. Kept for the next page (a lesson's markdown
    is the same for every student) when all its maths was typeset."""
    if html in _rendered:
        return _rendered[html]
    complete = mathml.page_complete()
    cleaned = clean_html(mathml.typeset(strip_files_prefix(html)))
    if complete and mathml.page_complete():
        if len(_rendered) >= RENDERED_KEPT:
            del _rendered[next(iter(_rendered))]  # the oldest
        _rendered[html] = cleaned
    return cleaned


RENDERED_KEPT = 4096  # rendered markdown cells kept: a class's lessons, not a page's bulk
_rendered = {}
