def polynomial_features(x, degree):
    """Correct alternative: one column per power, stacked."""
    columns = [torch.ones_like(x)]
    for _ in range(degree):
        columns.append(columns[-1] * x)
    return torch.stack(columns, dim=1)
