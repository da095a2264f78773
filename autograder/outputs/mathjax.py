"""MathJax inside an HTML file, so that the file shows its maths alone and offline.

nbconvert's and nbgrader's templates load MathJax 2 from a CDN: a page opened without a
network shows raw TeX. `inline_mathjax` replaces that <script> with MathJax 3's single-file
SVG build (from the `django-static-mathjax` package, which ships MathJax's own files; Apache
2.0): about 2.2 MB, fonts included as SVG paths, so nothing else is ever fetched. Formgrader
shows submissions that way (`template`). Feedback pages carry no MathJax at all: their maths
is MathML (autograder.outputs.mathml), and `without_mathjax` drops the CDN's.
"""

import re
from pathlib import Path

import mathjax

ES5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
SINGLE_FILE = ES5 / "tex-svg-full.js"
# MathJax's own `safe` extension: a page's maths may be a student's, whose \href{javascript:}
# or \style would otherwise become a link or a style; it is started, as MathJax's loader
# would start it, before the page is typeset (SAFE in CONFIG)
SAFE = ES5 / "ui" / "safe.js"
# the same delimiters as Jupyter's: $...$ and $$...$$, \(...\) and \[...\]; no \require
# (nor autoload, which needs it): it would fetch extensions, all of which the page holds
CONFIG = """window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
        displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
        processEscapes: true, processEnvironments: true,
        packages: {"[-]": ["require", "autoload"]}},
  options: {ignoreHtmlClass: "tex2jax_ignore", processHtmlClass: "tex2jax_process"},
  svg: {fontCache: "global"},
  startup: {ready() { SAFE; MathJax.startup.defaultReady(); }}
};"""
MARKER = "<!-- MathJax 3, inline -->"
# MathJax 2 as nbconvert's templates load it: the CDN <script src> and its configuration
_CDN_SCRIPT = re.compile(
    r"""<script[^>]*\bsrc=["']https?://[^"']*mathjax[^"']*["'][^>]*>\s*</script>""", re.I
)
_V2_CONFIG = re.compile(r"""<script type=["']text/x-mathjax-config["']>.*?</script>""", re.I | re.S)


def inline_scripts():
    """The <script> elements that typeset a page's maths with nothing fetched: MathJax inside
    them."""
    config = CONFIG.replace("SAFE;", SAFE.read_text(encoding="utf-8"))
    scripts = [config, SINGLE_FILE.read_text(encoding="utf-8")]
    inline = "".join(
        "\n<script>" + script.replace("</script", "<\\/script") + "</script>" for script in scripts
    )
    return MARKER + inline


def template(basedir):
    """Write basedir/base/mathjax.html.j2: nbconvert's `mathjax()` macro, made to inline
    MathJax 3. With basedir first among HTMLExporter.extra_template_basedirs, every page
    nbconvert renders (formgrader's, nbgrader's feedback) shows its maths offline."""
    folder = Path(basedir) / "base"
    folder.mkdir(parents=True, exist_ok=True)
    macro = "{%- macro mathjax(url=None) -%}\n{% raw %}" + inline_scripts()
    (folder / "mathjax.html.j2").write_text(macro + "{% endraw %}\n{%- endmacro %}\n")


def without_mathjax(html):
    """html without MathJax 2 from a CDN, nor its configuration."""
    return _CDN_SCRIPT.sub("", _V2_CONFIG.sub("", html))
