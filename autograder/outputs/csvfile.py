"""The CSV files the grading command writes, as spreadsheets and LMS importers read them.

Their cells hold what students wrote (the message of an exception their code raised, a
folder name): a cell that starts like a formula (=, +, -, @, a tab or a carriage return,
OWASP's CSV injection rule) is run by a spreadsheet that opens the file. Every such cell is
written as text, with a leading '; a number stays a number. A spreadsheet that splits on
another separator (`;` in much of Europe) would split a cell at its `;` or `,`, and ignore
the quotes after the first: so every cell is quoted, and a formula's start after a `,`,
`;`, `|` or tab inside a cell gets its ' too. What no file can hold (a lone surrogate, from
a folder name that is not UTF-8) is written as "?".
"""

import csv
import io
import re

from autograder.files import unicode, write_whole

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# a character a spreadsheet may split on, whatever this file's separator, before a formula
SPLIT_FORMULA = re.compile(r"([,;|\t])(?=[=+\-@\t\r])")


def cell(value):
    """value as the file holds it: never a formula, wherever a spreadsheet splits it."""
    text = unicode(str(value))
    if NUMBER.fullmatch(text):
        return text
    text = SPLIT_FORMULA.sub(r"\1'", text)
    return "'" + text if text.startswith(FORMULA_START) else text


def write(path, rows):
    """The CSV file at path, its first row the header, written whole."""
    text = io.StringIO(newline="")
    csv.writer(text, quoting=csv.QUOTE_ALL).writerows([cell(v) for v in row] for row in rows)
    write_whole(path, text.getvalue())
