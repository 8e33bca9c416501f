"""Tests of the final-output statistics (interp_widgets.outputs)."""
