"""Stage 2 of grading: run student code. Sandboxed kernels execute each notebook (kernels),
and the trusted runner checks every graded cell again on the student's functions proxied into a
sandboxed child (trusted, student_child, wire). Nothing here writes the gradebook."""
