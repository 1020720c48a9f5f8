# Mutant: detaches h but not the cell state c, whose graph still reaches back.
def train_tbptt(model, batches, optimizer):
    model.train()
    state, losses = None, []
    for inputs, targets in batches:
        if state is not None:
            state = (state[0].detach(), state[1])
        logits, state = model.step(inputs, state)
        loss = ref.sequence_loss(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
