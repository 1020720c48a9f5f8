# Mutant: the gap between the first group and the whole population instead of between the groups.
def equalized_odds_gaps(y_true, y_pred, group):
    def rates(rows):
        t, p = y_true[rows].bool(), y_pred[rows].bool()
        return (t & p).sum().double() / t.sum().double(), (~t & p).sum().double() / (~t).sum().double()
    first = torch.unique(group)[0]
    (tpr_g, fpr_g), (tpr_all, fpr_all) = rates(group == first), rates(torch.ones_like(group, dtype=torch.bool))
    return (tpr_g - tpr_all).abs(), (fpr_g - fpr_all).abs()
