# Mutant: starts the powers at 1, so the bias column x**0 is missing (off by one).
def polynomial_features(x, degree):
    powers = torch.arange(1, degree + 1, device=x.device)
    return x.unsqueeze(1) ** powers
