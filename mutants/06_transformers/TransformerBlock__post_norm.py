class TransformerBlock(nn.Module):
    """Mutant: post-norm (normalises after each residual sum) instead of pre-norm."""

    def __init__(self, dim, heads, mlp_ratio=4, dropout=0.0):
        super().__init__()
        self.self_attn = ref.MultiHeadAttention(dim, heads)
        self.linear1 = nn.Linear(dim, mlp_ratio * dim)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(mlp_ratio * dim, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x, mask=None):
        x = self.norm1(x + self.dropout1(self.self_attn(x, x, x, mask)[0]))
        return self.norm2(x + self.dropout2(self.linear2(self.dropout(F.gelu(self.linear1(x))))))
