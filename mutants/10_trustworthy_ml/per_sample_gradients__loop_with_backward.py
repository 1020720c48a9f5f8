# Mutant: a loop of backward passes that never clears .grad between examples: each row is a running sum.
def per_sample_gradients(model, loss_fn, x, y):
    rows = {name: [] for name, _ in model.named_parameters()}
    for i in range(len(x)):
        loss_fn(model(x[i:i + 1]), y[i:i + 1]).backward()
        for name, p in model.named_parameters():
            rows[name].append(p.grad.clone())
    return {name: torch.stack(values) for name, values in rows.items()}
