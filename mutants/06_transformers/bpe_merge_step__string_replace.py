def bpe_merge_step(tokens, pair, new_id):
    """Mutant: merges by replacing text in the ids written out as a string (15 6 holds "5 6")."""
    text = " ".join(str(t) for t in tokens)
    merged = text.replace(f"{pair[0]} {pair[1]}", str(new_id))
    return [int(t) for t in merged.split()]
