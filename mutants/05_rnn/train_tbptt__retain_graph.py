# Mutant: keeps the graph with retain_graph=True instead of detaching the state.
def train_tbptt(model, batches, optimizer):
    model.train()
    state, losses = None, []
    for inputs, targets in batches:
        logits, state = model.step(inputs, state)
        loss = ref.sequence_loss(logits, targets)
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        optimizer.step()
        losses.append(loss.item())
    return losses
