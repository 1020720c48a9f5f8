# Mutant: returns the loss tensor, which keeps the graph of the step alive.
def train_step(model, inputs, targets, loss_fn, optimizer, max_grad_norm=None):
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return loss
