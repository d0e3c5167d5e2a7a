"""The one colour rule for label classes, shared by the labeling page (label.html,
label_annotate.js) and the row viewer (views/viewer.py): a class someone marks in blue is blue
wherever it is shown."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

register = template.Library()

CLASS_COLOURS = 9  # .ann-c0 … .ann-c8 in static/css/app.css
UNKNOWN_CLASS_COLOUR = "ann-c0"  # a stored label whose class the dataset no longer lists


@register.filter(name="class_colours")
def class_colours(classes: Iterable[str]) -> dict[str, str]:
    """Each class's colour class (``ann-c0`` … ``ann-c8``): its place in the dataset's classes,
    round the palette again after the ninth. The class name is always written beside the colour,
    so two classes sharing one is never ambiguous."""
    return {name: f"ann-c{index % CLASS_COLOURS}" for index, name in enumerate(classes)}
