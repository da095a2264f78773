"""The instructor pipeline: build student and solution notebooks, grade a class, report.

python -m autograder build [LESSON ...]          # regenerate lessons/ and solutions/
python -m autograder grade SUBMISSIONS --out OUT [--jobs N]
python -m autograder demo --out OUT             # make a demo class and grade it
"""
