def expected_calibration_error(probabilities, y_true, bins=15):
    """Mutant: the plain mean of the bins' gaps, not weighted by how many samples each holds."""
    confidence, predicted = probabilities.double().max(dim=1)
    correct = (predicted == y_true).double()
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
    index = torch.bucketize(confidence, edges[1:-1])
    gaps = []
    for b in range(bins):
        inside = index == b
        if inside.any():
            gaps.append((correct[inside].mean() - confidence[inside].mean()).abs())
    return torch.stack(gaps).mean()
