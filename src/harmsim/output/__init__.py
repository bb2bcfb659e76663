"""Layer 4, the output: result objects (tidy tables with provenance), figures, and the plot functions that draw
tidy tables on an Axes."""
