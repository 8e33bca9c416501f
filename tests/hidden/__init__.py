"""Tests of the hidden-state analyses (interp_widgets.hidden)."""
