# Mutant: compares group 1 with group 0 only (the wrong groups when there are more, or other ids), and keeps the sign.
def equalized_odds_gaps(y_true, y_pred, group):
    def rates(k):
        t, p = y_true[group == k].bool(), y_pred[group == k].bool()
        return (t & p).sum().double() / t.sum().double(), (~t & p).sum().double() / (~t).sum().double()
    (tpr0, fpr0), (tpr1, fpr1) = rates(0), rates(1)
    return (tpr0 - tpr1).abs(), (fpr0 - fpr1).abs()
