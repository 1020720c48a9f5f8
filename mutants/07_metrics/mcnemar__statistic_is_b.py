def mcnemar(correct_a, correct_b, exact=True):
    """Mutant: the exact test counts b (A right, B wrong) instead of min(b, c)."""
    b = int((correct_a & ~correct_b).sum())
    c = int((~correct_a & correct_b).sum())
    n = b + c
    if n == 0:
        return 0.0, 1.0
    if exact:
        tail = sum(math.comb(n, i) for i in range(b + 1)) / 2 ** n
        return float(b), min(1.0, 2 * tail)
    statistic = (abs(b - c) - 1) ** 2 / n
    return float(statistic), math.erfc(math.sqrt(statistic / 2))
