def mcnemar(correct_a, correct_b, exact=True):
    """Mutant: the chi-square statistic without the continuity correction."""
    b = int((correct_a & ~correct_b).sum())
    c = int((~correct_a & correct_b).sum())
    n = b + c
    if n == 0:
        return 0.0, 1.0
    if exact:
        k = min(b, c)
        tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
        return float(k), min(1.0, 2 * tail)
    statistic = (b - c) ** 2 / n
    return float(statistic), math.erfc(math.sqrt(statistic / 2))
