# Mutant: sums the micro-batches' mean losses without dividing: the gradient is micro-batches times too large.
def accumulate_gradients(model, loss_fn, inputs, targets, micro_batch_size):
    total_loss, count = 0.0, 0
    for start in range(0, len(inputs), micro_batch_size):
        loss = loss_fn(model(inputs[start:start + micro_batch_size]), targets[start:start + micro_batch_size])
        loss.backward()
        total_loss += loss.item()
        count += 1
    return total_loss / count
