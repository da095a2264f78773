"""Stage 4 of grading: what the instructor and the students get: exports, feedback pages
(with offline maths) and the class report."""
