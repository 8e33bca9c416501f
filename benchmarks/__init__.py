"""Speed of interp_widgets as ratios against peers run side by side (see README.md here)."""
