# Mutant: sums the weighted losses of all micro-batches and calls backward once: every micro-batch's graph stays alive.
def accumulate_gradients(model, loss_fn, inputs, targets, micro_batch_size):
    total = len(inputs)
    loss = 0
    for start in range(0, total, micro_batch_size):
        x, y = inputs[start:start + micro_batch_size], targets[start:start + micro_batch_size]
        loss = loss + loss_fn(model(x), y) * (len(x) / total)
    loss.backward()
    return loss.item()
