def make_deep_mlp():
    """Mutant: 8 normalised hidden layers of 96 units: about 140,000 parameters, over the budget."""
    layers, width = [nn.Flatten()], 784
    for _ in range(8):
        layers += [nn.Linear(width, 96), nn.BatchNorm1d(96), nn.ReLU()]
        width = 96
    return nn.Sequential(*layers, nn.Linear(width, 10))
