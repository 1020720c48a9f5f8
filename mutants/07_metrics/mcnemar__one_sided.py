def mcnemar(correct_a, correct_b, exact=True):
    """Mutant: the one-sided binomial tail (not doubled)."""
    b = int((correct_a & ~correct_b).sum())
    c = int((~correct_a & correct_b).sum())
    n = b + c
    if n == 0:
        return 0.0, 1.0
    if exact:
        k = min(b, c)
        tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
        return float(k), tail
    statistic = (abs(b - c) - 1) ** 2 / n
    return float(statistic), math.erfc(math.sqrt(statistic / 2))
