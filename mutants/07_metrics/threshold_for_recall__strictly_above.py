def threshold_for_recall(y_true, scores, recall):
    """Mutant: requires a recall strictly above the target, so an exact hit is skipped."""
    positives = int(y_true.sum())
    if positives == 0:
        raise ValueError("y_true has no positive sample: no threshold can reach any recall")
    order = torch.argsort(scores, descending=True)
    ranked, hits = scores[order], y_true[order].double()
    last = torch.cat([torch.nonzero(ranked[1:] != ranked[:-1]).squeeze(1), torch.tensor([len(ranked) - 1])])
    tp = torch.cumsum(hits, 0)[last]
    reached = tp / positives
    first = int(torch.nonzero((reached > recall) | (reached == 1))[0])
    return float(ranked[last[first]]), float(tp[first] / (last[first] + 1)), float(reached[first])
