# Mutant: compares the count before adding the current clean step: grows one step late.
def update_loss_scale(scale, found_inf, growth_tracker, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    if found_inf:
        return scale * backoff_factor, 0
    if growth_tracker == growth_interval:
        return scale * growth_factor, 0
    return scale, growth_tracker + 1
