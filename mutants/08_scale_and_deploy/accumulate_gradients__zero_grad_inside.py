# Mutant: the buggy loop's zero_grad inside the loop: only the last micro-batch's gradient is left.
def accumulate_gradients(model, loss_fn, inputs, targets, micro_batch_size):
    total = len(inputs)
    loss_sum = 0.0
    for start in range(0, total, micro_batch_size):
        model.zero_grad()
        x, y = inputs[start:start + micro_batch_size], targets[start:start + micro_batch_size]
        loss = loss_fn(model(x), y) * (len(x) / total)
        loss.backward()
        loss_sum += loss.item()
    return loss_sum
