# Mutant: passes the state on with its graph: the second backward pass fails.
def train_tbptt(model, batches, optimizer):
    model.train()
    state, losses = None, []
    for inputs, targets in batches:
        logits, state = model.step(inputs, state)
        loss = ref.sequence_loss(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
