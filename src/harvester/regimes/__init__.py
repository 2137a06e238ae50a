"""Market regimes: a batched Gaussian HMM with causal (forward-filtered) state probabilities."""
