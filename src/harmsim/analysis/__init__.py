"""Layer 5, the analyses users run: runs and ensembles, predictive draws, forecasts, backtests,
counterfactuals, sweeps, sensitivity analyses and the comparison of mechanisms."""
