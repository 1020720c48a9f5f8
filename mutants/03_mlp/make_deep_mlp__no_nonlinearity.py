def make_deep_mlp():
    """Mutant: 8 normalised hidden layers without an activation: one linear map in disguise."""
    layers, width = [nn.Flatten()], 784
    for _ in range(8):
        layers += [nn.Linear(width, 48), nn.BatchNorm1d(48)]
        width = 48
    return nn.Sequential(*layers, nn.Linear(width, 10))
