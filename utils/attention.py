"""Reference implementations for chapter 06 (attention and transformers).

Each is tested against its PyTorch counterpart (``F.scaled_dot_product_attention``,
``nn.MultiheadAttention``, ``nn.TransformerEncoderLayer``) with the same weights, in float64,
with gradients (tests/test_attention.py).

Mask convention throughout this module, as in ``F.scaled_dot_product_attention``: a boolean
mask is ``True`` where a query **may** attend to a key. (``nn.MultiheadAttention`` uses the
opposite convention for its boolean masks: ``True`` there means "not allowed".)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["scaled_dot_product_attention", "causal_mask", "MultiHeadAttention", "sinusoidal_positions",
           "apply_rope", "TransformerBlock", "patchify", "LoRALinear", "bpe_merge_step"]


def scaled_dot_product_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                                 mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(q k^T / sqrt(d_k)) v for q ``(..., T_q, d_k)``, k ``(..., T_k, d_k)``, v
    ``(..., T_k, d_v)``; ``mask`` (broadcastable to ``(..., T_q, T_k)``) is boolean, ``True``
    where attention is allowed. Returns ``(output (..., T_q, d_v), weights (..., T_q, T_k))``.
    A query row whose keys are all masked gets weights of 0 and an output of 0 (not NaN)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., T_q, T_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights.nan_to_num(0.0)  # rows with no allowed key: softmax of all -inf
    return weights @ v, weights


def causal_mask(size: int, device: torch.device | str | None = None) -> torch.Tensor:
    """``(size, size)`` boolean, ``True`` on and below the diagonal: position t may attend to 0..t."""
    return torch.ones(size, size, dtype=torch.bool, device=device).tril()


class MultiHeadAttention(nn.Module):
    """Multi-head attention with ``nn.MultiheadAttention``'s parameters (``in_proj_weight``
    ``(3E, E)``, ``in_proj_bias``, ``out_proj``), so that state dicts are interchangeable with
    ``nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)``. Inputs are ``(B, T, E)``;
    ``mask`` follows this module's convention (``True`` = may attend), shape ``(T_q, T_k)`` or
    ``(B, T_q, T_k)``. Returns ``(output (B, T_q, E), weights averaged over heads (B, T_q, T_k))``."""

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim)) if bias else None
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        b, t_q, e = query.shape
        t_k, heads, size = key.shape[1], self.num_heads, e // self.num_heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3) if self.in_proj_bias is not None else (None, None, None)
        q = F.linear(query, w_q, b_q).view(b, t_q, heads, size).transpose(1, 2)  # (B, nh, T_q, hs)
        k = F.linear(key, w_k, b_k).view(b, t_k, heads, size).transpose(1, 2)  # (B, nh, T_k, hs)
        v = F.linear(value, w_v, b_v).view(b, t_k, heads, size).transpose(1, 2)  # (B, nh, T_k, hs)
        if mask is not None and mask.dim() == 3:
            mask = mask.unsqueeze(1)  # (B, 1, T_q, T_k): the same mask for every head
        out, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, nh, T_q, hs), (B, nh, T_q, T_k)
        out = out.transpose(1, 2).reshape(b, t_q, e)  # (B, T_q, E): heads side by side
        return self.out_proj(out), weights.mean(dim=1)


def sinusoidal_positions(length: int, dim: int, base: float = 10_000.0) -> torch.Tensor:
    """The fixed position encodings of "Attention is all you need": ``(length, dim)`` with
    ``PE[t, 2i] = sin(t / base^(2i/dim))`` and ``PE[t, 2i+1] = cos(t / base^(2i/dim))``
    (``dim`` even)."""
    if dim % 2:
        raise ValueError(f"dim must be even, got {dim}")
    positions = torch.arange(length, dtype=torch.float64).unsqueeze(1)  # (T, 1)
    frequencies = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (dim/2,)
    angles = positions * frequencies  # (T, dim/2)
    encoding = torch.empty(length, dim, dtype=torch.float64)
    encoding[:, 0::2], encoding[:, 1::2] = angles.sin(), angles.cos()
    return encoding.float()


def apply_rope(x: torch.Tensor, base: float = 10_000.0, offset: int = 0) -> torch.Tensor:
    """Rotary position embedding for x ``(..., T, d)`` (``d`` even): the pair
    ``(x[..., 2i], x[..., 2i+1])`` at position ``t + offset`` is rotated by the angle
    ``(t + offset) * base^(-2i/d)``. Dot products of rotated queries and keys then depend on the
    positions only through their difference."""
    *_, length, dim = x.shape
    if dim % 2:
        raise ValueError(f"the last dimension must be even, got {dim}")
    positions = torch.arange(offset, offset + length, dtype=torch.float64, device=x.device).unsqueeze(1)
    angles = positions * base ** (-torch.arange(0, dim, 2, dtype=torch.float64, device=x.device) / dim)  # (T, d/2)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out


class TransformerBlock(nn.Module):
    """A pre-norm transformer block: ``x + attention(norm1(x))``, then ``x + mlp(norm2(x))``
    with a GELU MLP of width ``mlp_ratio * dim``. Parameter names and order follow
    ``nn.TransformerEncoderLayer(dim, heads, mlp_ratio * dim, dropout, activation="gelu",
    batch_first=True, norm_first=True)``, so their state dicts are interchangeable."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        self.self_attn = MultiHeadAttention(dim, heads)
        self.linear1 = nn.Linear(dim, mlp_ratio * dim)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(mlp_ratio * dim, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        normed = self.norm1(x)
        x = x + self.dropout1(self.self_attn(normed, normed, normed, mask)[0])
        return x + self.dropout2(self.linear2(self.dropout(F.gelu(self.linear1(self.norm2(x))))))


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """Cut images ``(B, C, H, W)`` into non-overlapping ``patch x patch`` squares, row by row:
    ``(B, (H/patch) (W/patch), C patch patch)``, each patch flattened channel first (the layout of
    ``F.unfold(images, patch, stride=patch).transpose(1, 2)``)."""
    b, c, h, w = images.shape
    if h % patch or w % patch:
        raise ValueError(f"a {h}x{w} image does not split into {patch}x{patch} patches")
    grid = images.reshape(b, c, h // patch, patch, w // patch, patch)  # (B, C, rows, p, cols, p)
    return grid.permute(0, 2, 4, 1, 3, 5).reshape(b, (h // patch) * (w // patch), c * patch * patch)


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus a trainable low-rank update: ``base(x) + (alpha / rank) x A^T B^T``
    with ``A`` ``(rank, in)`` random and ``B`` ``(out, rank)`` zero, so the layer starts equal to
    ``base``. :meth:`merge` returns a plain ``nn.Linear`` with the update folded into its weight."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float = 1.0):
        super().__init__()
        if rank < 1:
            raise ValueError(f"rank must be at least 1, got {rank}")
        self.base, self.rank, self.scale = base, rank, alpha / rank
        for parameter in self.base.parameters():
            parameter.requires_grad_(False)
        self.A = nn.Parameter(torch.randn(rank, base.in_features, dtype=base.weight.dtype) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank, dtype=base.weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * (x @ self.A.T) @ self.B.T

    def merge(self) -> nn.Linear:
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                           dtype=self.base.weight.dtype)
        with torch.no_grad():
            merged.weight.copy_(self.base.weight + self.scale * self.B @ self.A)
            if self.base.bias is not None:
                merged.bias.copy_(self.base.bias)
        return merged


def bpe_merge_step(tokens: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``tokens``, left to right and without overlaps,
    by ``new_id`` (one merge of byte-pair encoding): ``[1, 1, 1]`` with ``(1, 1)`` -> ``[new, 1]``."""
    out, i = [], 0
    while i < len(tokens):
        if i + 1 < len(tokens) and (tokens[i], tokens[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out
