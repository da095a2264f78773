"""Interactive figures that are live in JupyterLab and a plain picture everywhere else.

`interactive_figure` publishes one output whose bundle holds both the widget and a PNG of
its first frame. JupyterLab renders the widget (its renderer outranks images); nbconvert,
nbgrader feedback, GitHub and a headless run show the PNG. One code path serves both. A
kernel told to draw no figures (`InlineBackend.figure_formats` empty, as the grading kernels
are) still runs every drawing function but encodes no PNG, and says so in one line.

The figures are calm: a slider redraws once, when it is released, not once for every value
it passes; while the kernel draws, the figure on screen is faded and marked "updating", so
that it is never read as the result of the values the controls now show; labels are shown
whole. An error raised while drawing shows the lesson's code, not this module's frames.
"""

import base64
import io

import ipywidgets as widgets
import matplotlib.image
from IPython.display import Image, display
from matplotlib.figure import Figure

UPDATING = "updating\u2026"
FADE = 0.3  # how much of the old figure is left while the new one is drawn
NOT_DRAWN = "<figure: not drawn, this kernel draws no figures>"


def pictures_wanted():
    """False in a kernel told to draw no figures (its InlineBackend.figure_formats empty):
    encoding the PNG is most of a figure's cost, and no one would see it."""
    try:
        from matplotlib_inline.config import InlineBackend
    except ImportError:
        return True
    return not InlineBackend.initialized() or bool(InlineBackend.instance().figure_formats)


def render_png(draw, values, figsize):
    """Draw a fresh figure with draw(fig, **values) and return it as PNG bytes (None when
    pictures are not wanted: the figure is drawn, not encoded)."""
    __tracebackhide__ = True
    fig = Figure(figsize=figsize, layout="constrained")
    draw(fig, **values)
    if not pictures_wanted():
        return None
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def faded(png):
    """The picture png, faded towards white."""
    rgba = matplotlib.image.imread(io.BytesIO(png), format="png")
    rgba[..., :3] = 1 - FADE * (1 - rgba[..., :3])
    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, rgba, format="png")
    return buffer.getvalue()


def interactive_figure(draw, controls, figsize=(8, 3.2)):
    """Show a figure redrawn whenever one of the controls changes.

    Inputs:
    - draw: callable draw(fig, **values) drawing onto a matplotlib Figure
    - controls: dict name -> ipywidgets control (slider, dropdown...); values are their values
    - figsize: figure size in inches

    Nothing is returned, so that a call at the end of a cell is not displayed twice.
    """
    __tracebackhide__ = True
    output = widgets.Output()
    status = widgets.Label()  # says "updating…" while the kernel draws
    status.add_class("gradlab-status")
    shown = [render_png(draw, _values(controls), figsize)]  # the frame on screen

    def put(png):
        output.clear_output(wait=True)
        with output:
            _display(png)

    def redraw(_change=None):
        __tracebackhide__ = True
        status.value = UPDATING
        put(shown[0] and faded(shown[0]))
        try:
            with output:  # what draw raises is shown in the figure's place
                output.clear_output(wait=True)
                shown[0] = render_png(draw, _values(controls), figsize)
                _display(shown[0])
        finally:
            status.value = ""

    for control in controls.values():
        if control.has_trait("continuous_update"):
            control.continuous_update = False  # one redraw on release
        control.style.description_width = "initial"  # "learning rate", not "learning r..."
        control.observe(redraw, names="value")
    bar = widgets.HBox(
        [*controls.values(), status],
        layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
    )
    bundle = widgets.VBox([bar, output])._repr_mimebundle_()
    if shown[0] is None:  # a kernel that draws no figures: said in one line, nothing shown
        bundle["text/plain"] = NOT_DRAWN
    else:
        put(shown[0])
        bundle["image/png"] = base64.b64encode(shown[0]).decode("ascii")
    display(bundle, raw=True)


def _display(png):
    if png is None:  # not drawn: said in one line
        display({"text/plain": NOT_DRAWN}, raw=True)
    else:
        display(Image(png))


def _values(controls):
    return {name: control.value for name, control in controls.items()}


def show(draw, figsize=(8, 3.2), **values):
    """Show a static figure drawn by draw(fig, **values)."""
    _display(render_png(draw, values, figsize))
