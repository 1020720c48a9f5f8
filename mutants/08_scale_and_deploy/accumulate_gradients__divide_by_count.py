# Mutant: divides each micro-batch's loss by the number of micro-batches: right only when all have the same size.
def accumulate_gradients(model, loss_fn, inputs, targets, micro_batch_size):
    count = (len(inputs) + micro_batch_size - 1) // micro_batch_size
    total = 0.0
    for start in range(0, len(inputs), micro_batch_size):
        loss = loss_fn(model(inputs[start:start + micro_batch_size]), targets[start:start + micro_batch_size]) / count
        loss.backward()
        total += loss.item()
    return total
