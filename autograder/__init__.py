"""The instructor pipeline: build student and solution notebooks, grade a class, report.

python -m autograder build [LESSON ...]          # regenerate lessons/ and solutions/
python -m autograder grade SUBMISSIONS --out OUT [--jobs N]
python -m autograder demo --out OUT             # make a demo class and grade it
"""

import sys

# jsonschema (under nbformat and nbgrader) compiles three Earley grammars at import when the
# optional rfc3987_syntax is installed, as jupyter-events' dependencies install it: 3.5 s of
# CPU in every process that imports nbformat. No notebook here holds an IRI to validate, so
# the import is declined (jsonschema goes on without that one format check).
sys.modules.setdefault("rfc3987_syntax", None)
