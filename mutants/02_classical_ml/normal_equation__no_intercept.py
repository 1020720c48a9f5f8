# Mutant: forgets the column of ones, so the line is forced through the origin (b = 0).
def normal_equation(X, y):
    w = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
    return w, torch.zeros((), dtype=X.dtype)
