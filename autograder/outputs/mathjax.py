"""MathJax for HTML files that must show their maths offline, such as feedback.

nbconvert's HTML loads MathJax from a CDN, so a feedback file opened without a network shows
raw TeX. `bundle_mathjax` copies the MathJax 2.7 that jupyter-server-mathjax ships (the one a
Jupyter server itself serves) next to the HTML files; `mathjax_url` is the relative URL to give
`HTMLExporter.mathjax_url` for one HTML file, and `localize_mathjax` rewrites the CDN URL of a
file written by a template that ignores that setting (nbgrader's feedback template calls
`mathjax()` with nbconvert's default URL).
"""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import jupyter_server_mathjax

STATIC = Path(jupyter_server_mathjax.__file__).parent / "static"
# jupyter-server-mathjax ships one combined configuration (TeX and MathML in, HTML-CSS out)
# and the STIX-Web fonts only; ours (below) makes HTML-CSS use those fonts, not the TeX
# fonts it would look for by default and not find.
CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe,local/offline"
OFFLINE_CONFIG = """\
/* The course's settings: the STIX-Web fonts of this bundle, never fonts from elsewhere. */
MathJax.Hub.Config({
  MMLorHTML: {prefer: "HTML"},
  "HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null}
});
MathJax.Ajax.loadComplete("[MathJax]/config/local/offline.js");
"""
# The SVG output of the package has fonts but no jax.js, so it can never load: left out.
# Everything else may be loaded on demand (localizations follow the reader's browser
# language, the a11y explorer is switched on from MathJax's menu), so it stays.
UNUSABLE = ("jax/output/SVG",)
# the <script src="..."> of a MathJax on a CDN, as nbconvert's templates write it
_CDN_SCRIPT = re.compile(r"""(<script[^>]*\bsrc=)(["'])https?://[^"']*mathjax[^"']*\2""", re.I)


def bundle_mathjax(dest_dir):
    """Copy a local MathJax into dest_dir/"mathjax" and return the path of its MathJax.js.

    Run it once for a tree of HTML files (e.g. with dest_dir OUT, next to OUT/feedback, where
    no student folder can clash with it); every file then points at it with `mathjax_url`.
    Copying again replaces the old bundle, so reruns are safe.
    """
    root = Path(dest_dir) / "mathjax"
    if root.exists():
        shutil.rmtree(root)

    def unusable(folder, names):
        relative = Path(folder).relative_to(STATIC)
        return [name for name in names if (relative / name).as_posix() in UNUSABLE]

    shutil.copytree(STATIC, root, ignore=unusable)
    config = root / "config" / "local" / "offline.js"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(OFFLINE_CONFIG)
    return root / "MathJax.js"


def mathjax_url(html_file, mathjax_js):
    """The URL of mathjax_js relative to html_file, with the offline configuration.

    Set it as nbconvert's `HTMLExporter.mathjax_url` when writing html_file; a relative URL
    keeps working when the whole output folder is moved or zipped.
    """
    relative = os.path.relpath(Path(mathjax_js).resolve(), Path(html_file).resolve().parent)
    return f"{quote(Path(relative).as_posix())}?config={CONFIG}"


def localize_mathjax(html_file, mathjax_js):
    """Point the CDN MathJax <script> of an existing HTML file at mathjax_js; True if found.

    For HTML from templates that ignore `HTMLExporter.mathjax_url`, such as nbgrader's
    feedback. The file is rewritten in place; a file already localized is left as it is.
    """
    html_file = Path(html_file)
    url = mathjax_url(html_file, mathjax_js)
    text, count = _CDN_SCRIPT.subn(
        lambda m: f"{m[1]}{m[2]}{url}{m[2]}", html_file.read_text(encoding="utf-8")
    )
    if count:
        html_file.write_text(text, encoding="utf-8")
    return count > 0
