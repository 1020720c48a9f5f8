def make_mlp(in_features, hidden_sizes, out_features, dropout=0.0):
    """Flatten -> [Linear -> ReLU -> (Dropout)] per hidden size -> Linear (logits)."""
    layers = [nn.Flatten()]
    width = in_features
    for size in hidden_sizes:
        layers += [nn.Linear(width, size), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = size
    layers += [nn.Linear(width, out_features), nn.ReLU()]
    return nn.Sequential(*layers)
