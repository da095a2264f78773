"""Stage 3 of grading: record the results in nbgrader's gradebook with nbgrader's own
converters (the course's preprocessors plug into them)."""
