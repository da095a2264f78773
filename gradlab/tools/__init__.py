"""Tools the lessons give students: answers to one lesson's exercises, handed to later ones.

A lesson may use a tool module only if its setup cell imports it; the grader hides every
other one (and gradlab.exercises, the answer key) from student code in the trusted run.
"""
