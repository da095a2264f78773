"""gradlab: the helper package of the course on the derivatives behind neural-network training.

- gradlab.numeric: central differences and relative errors
- gradlab.inputs: random inputs that keep away from kinks
- gradlab.checking: the check runner and its diagnostics
- gradlab.exercises: per lesson, trusted references and the checks of its exercises
- gradlab.widgets: interactive figures that also render as pictures
"""

from gradlab.checking import CheckFailed
from gradlab.numeric import numerical_gradient, numerical_jacobian, numerical_vjp, rel_error

__all__ = ["CheckFailed", "numerical_gradient", "numerical_jacobian", "numerical_vjp", "rel_error"]
