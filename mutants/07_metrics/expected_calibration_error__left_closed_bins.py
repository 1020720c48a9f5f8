def expected_calibration_error(probabilities, y_true, bins=15):
    """Mutant: bins [b/B, (b+1)/B) (floor of confidence x B), so edge values go to the bin above."""
    confidence, predicted = probabilities.double().max(dim=1)
    correct = (predicted == y_true).double()
    index = (confidence * bins).long().clamp_max(bins - 1)
    ece = torch.zeros((), dtype=torch.float64)
    for b in range(bins):
        inside = index == b
        if inside.any():
            ece += inside.double().mean() * (correct[inside].mean() - confidence[inside].mean()).abs()
    return ece
