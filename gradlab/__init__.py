"""gradlab: the helper package of the course on the derivatives behind neural-network training.

Student-facing (the grader's sandbox shows these to student code):
- gradlab.checking: the check runner and its diagnostics
- gradlab.compare: rel_error, the relative error of every gradient check
- gradlab.inputs: random inputs that keep away from kinks
- gradlab.data: the small data sets the lessons train on
- gradlab.widgets: interactive figures that also render as pictures
- gradlab.notebook: a lesson's gentle failures and its progress list

Tools, visible to student code only in the lessons whose setup cell imports them:
- gradlab.numeric: central differences and relative errors (Lesson 00's answers)
- gradlab.tools: softmax and cross-entropy, the vectorised convolution, average pooling

The answer key, never visible to student code while grading:
- gradlab.exercises: per lesson, trusted references and the checks of its exercises
"""
