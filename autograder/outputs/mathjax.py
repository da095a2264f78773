"""MathJax inside an HTML file, so that the file shows its maths alone and offline.

nbconvert's and nbgrader's templates load MathJax 2 from a CDN: a feedback page opened
without a network, or mailed on its own, shows raw TeX. `inline_mathjax` replaces that
<script> with MathJax 3's single-file SVG build (from the `django-static-mathjax` package,
which ships MathJax's own files; Apache 2.0): about 2.2 MB, fonts included as SVG paths, so
nothing else is ever fetched.
"""

import re
from pathlib import Path

import mathjax

SINGLE_FILE = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5" / "tex-svg-full.js"
# the same delimiters as Jupyter's: $...$ and $$...$$, \(...\) and \[...\]
CONFIG = """window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
        displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
        processEscapes: true, processEnvironments: true},
  options: {ignoreHtmlClass: "tex2jax_ignore", processHtmlClass: "tex2jax_process"},
  svg: {fontCache: "global"}
};"""
MARKER = "<!-- MathJax 3, inline -->"
# MathJax 2 as nbconvert's templates load it: the CDN <script src> and its configuration
_CDN_SCRIPT = re.compile(
    r"""<script[^>]*\bsrc=["']https?://[^"']*mathjax[^"']*["'][^>]*>\s*</script>""", re.I
)
_V2_CONFIG = re.compile(r"""<script type=["']text/x-mathjax-config["']>.*?</script>""", re.I | re.S)


def inline_scripts():
    """The <script> elements that typeset a page's maths with nothing fetched."""
    script = SINGLE_FILE.read_text(encoding="utf-8").replace("</script", "<\\/script")
    return f"{MARKER}\n<script>{CONFIG}</script>\n<script>{script}</script>"


def template(basedir):
    """Write basedir/base/mathjax.html.j2: nbconvert's `mathjax()` macro, made to inline
    MathJax 3. With basedir first among HTMLExporter.extra_template_basedirs, every page
    nbconvert renders (formgrader's, nbgrader's feedback) shows its maths offline."""
    folder = Path(basedir) / "base"
    folder.mkdir(parents=True, exist_ok=True)
    macro = "{%- macro mathjax(url=None) -%}\n{% raw %}" + inline_scripts()
    (folder / "mathjax.html.j2").write_text(macro + "{% endraw %}\n{%- endmacro %}\n")


def inline_mathjax(html):
    """html with MathJax 3 inline instead of MathJax 2 from a CDN; unchanged if already done."""
    if MARKER in html:
        return html
    html = _V2_CONFIG.sub("", html)
    inline = inline_scripts()
    html, count = _CDN_SCRIPT.subn(lambda _: inline, html, count=1)
    if not count:  # a template without MathJax: add it before </head>
        html = html.replace("</head>", f"{inline}\n</head>", 1)
    return html
