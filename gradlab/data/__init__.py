"""Small synthetic data sets the lessons train on, generated on the spot (no downloads).

- gradlab.data.points: 2-D classification sets (spirals, moons)
- gradlab.data.images: tiny images of bars, crosses and squares
- gradlab.data.sequences: synthetic sequence tasks (running parity, sine continuation)
"""
