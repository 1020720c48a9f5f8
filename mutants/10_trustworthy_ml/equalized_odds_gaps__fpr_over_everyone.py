# Mutant: the false positive rate over the whole group instead of over its negatives.
def equalized_odds_gaps(y_true, y_pred, group):
    tprs, fprs = [], []
    for k in torch.unique(group):
        t, p = y_true[group == k].bool(), y_pred[group == k].bool()
        tprs.append((t & p).sum().double() / t.sum().double())
        fprs.append((~t & p).sum().double() / len(t))
    tprs, fprs = torch.stack(tprs), torch.stack(fprs)
    return tprs.max() - tprs.min(), fprs.max() - fprs.min()
