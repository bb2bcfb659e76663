"""Layer 1, the data: observed records (and the packaged ones, in this folder), inputs compiled over a horizon,
what a record shows of each cell, and covariate features. Nothing here knows of mechanisms or runs."""
