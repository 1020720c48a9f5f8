# Mutant: never clears the gradients: each step adds the previous windows' gradients.
def train_tbptt(model, batches, optimizer):
    model.train()
    state, losses = None, []
    for inputs, targets in batches:
        if state is not None:
            state = tuple(part.detach() for part in state)
        logits, state = model.step(inputs, state)
        loss = ref.sequence_loss(logits, targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
