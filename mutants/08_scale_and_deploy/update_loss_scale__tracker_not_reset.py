# Mutant: an overflow halves the scale but keeps counting the clean steps from before it.
def update_loss_scale(scale, found_inf, growth_tracker, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
    if found_inf:
        return scale * backoff_factor, growth_tracker
    clean = growth_tracker + 1
    if clean == growth_interval:
        return scale * growth_factor, 0
    return scale, clean
