"""The CSV files the grading command writes, as spreadsheets and LMS importers read them.

Their cells hold what students wrote (the message of an exception their code raised, a
folder name): a cell that starts like a formula (=, +, -, @, a tab or a carriage return,
OWASP's CSV injection rule) is run by a spreadsheet that opens the file. Every such cell is
written as text, with a leading '; a number stays a number. Every cell is quoted, so that a
spreadsheet that splits on another separator (`;` in much of Europe) still reads each cell
whole, and never a formula after a `;` inside one; and what no file can hold (a lone
surrogate, from a folder name that is not UTF-8) is written as "?".
"""

import csv
import io
import re

from autograder.files import write_whole
from autograder.run.wire import unicode

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def cell(value):
    """value as the file holds it: never a formula."""
    text = unicode(str(value))
    if text.startswith(FORMULA_START) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def write(path, rows):
    """The CSV file at path, its first row the header, written whole."""
    text = io.StringIO(newline="")
    csv.writer(text, quoting=csv.QUOTE_ALL).writerows([cell(v) for v in row] for row in rows)
    write_whole(path, text.getvalue())
