# Mutant: never switches to training mode: a model left in evaluation mode trains without dropout.
def train_step(model, inputs, targets, loss_fn, optimizer, max_grad_norm=None):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    optimizer.step()
    return loss.item()
