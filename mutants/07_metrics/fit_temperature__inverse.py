def fit_temperature(logits, y_true):
    """Mutant: fits a multiplier of the logits and returns it, i.e. 1 / T."""
    logits = logits.detach().double()
    log_s = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_s], max_iter=100, tolerance_grad=1e-12, tolerance_change=1e-15,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(logits * log_s.exp(), y_true)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_s.exp())
