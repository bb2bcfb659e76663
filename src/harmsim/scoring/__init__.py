"""Layer 3 (with :mod:`harmsim.calibrate`), scoring: a scenario's comparison target against a record, the fit
metrics, and the predictive scores of adoption years."""
