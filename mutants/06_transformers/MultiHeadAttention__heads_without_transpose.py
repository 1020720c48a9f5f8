class MultiHeadAttention(nn.Module):
    """Mutant: splits into heads with view(B, nh, T, hs) instead of view(B, T, nh, hs).transpose(1, 2),
    which mixes positions and features across heads."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, query, key, value, mask=None):
        b, t_q, e = query.shape
        t_k, heads, size = key.shape[1], self.num_heads, e // self.num_heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q = F.linear(query, w_q, b_q).reshape(b, heads, t_q, size)
        k = F.linear(key, w_k, b_k).reshape(b, heads, t_k, size)
        v = F.linear(value, w_v, b_v).reshape(b, heads, t_k, size)
        scores = q @ k.transpose(-2, -1) / math.sqrt(size)
        if mask is not None:
            mask = mask.unsqueeze(1) if mask.dim() == 3 else mask
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).reshape(b, t_q, e)
        return self.out_proj(out), weights.mean(dim=1)
