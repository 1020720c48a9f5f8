class EarlyStopper:
    """Stop when the validation loss has not improved by more than min_delta for patience epochs."""

    def __init__(self, patience, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = None
        self.best_epoch = None
        self.wait = 0
        self.epoch = 0

    def step(self, val_loss):
        """Record one epoch's validation loss; return True when training should stop."""
        if self.best is None or val_loss < self.best - self.min_delta:
            self.best, self.best_epoch = val_loss, self.epoch  # forgets to reset the wait
        else:
            self.wait += 1
        self.epoch += 1
        return self.wait >= self.patience
