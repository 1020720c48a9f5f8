# Mutant: divides by the predicted positives (precision) instead of the actual positives for the "TPR".
def equalized_odds_gaps(y_true, y_pred, group):
    tprs, fprs = [], []
    for k in torch.unique(group):
        t, p = y_true[group == k].bool(), y_pred[group == k].bool()
        tprs.append((t & p).sum().double() / p.sum().double())
        fprs.append((~t & p).sum().double() / (~t).sum().double())
    tprs, fprs = torch.stack(tprs), torch.stack(fprs)
    return tprs.max() - tprs.min(), fprs.max() - fprs.min()
