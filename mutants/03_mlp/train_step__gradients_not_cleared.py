def train_step(model, inputs, targets, loss_fn, optimizer, max_grad_norm=None):
    """One optimisation step on one batch; returns the loss (before the update) as a float."""
    model.train()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return loss.item()
