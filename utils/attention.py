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
           "apply_rope", "TransformerBlock", "DecoderBlock", "EncoderDecoder", "patchify", "LoRALinear", "bpe_merge_step", "causal_self_attention",
           "CausalSelfAttention",
           "GPTBlock", "GPT", "generate", "gpt2_state_dict", "saved_tensor_bytes"]


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
        if bias:
            nn.init.zeros_(self.out_proj.bias)  # as nn.MultiheadAttention does

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


class DecoderBlock(nn.Module):
    """A pre-norm decoder block of an encoder-decoder transformer: causal self-attention, then
    **cross-attention** (queries from the decoder, keys and values from the encoder's output
    ``memory``), then the GELU MLP, each as ``x + sublayer(norm(x))``. Parameter names follow
    ``nn.TransformerDecoderLayer(dim, heads, mlp_ratio * dim, dropout, activation="gelu",
    batch_first=True, norm_first=True)``, so their state dicts are interchangeable.

    ``forward(x (B, T, dim), memory (B, S, dim), mask=None, memory_mask=None)`` with this module's
    mask convention (``True`` = may attend): ``mask`` ``(T, T)`` for the self-attention (pass
    :func:`causal_mask`), ``memory_mask`` ``(T, S)`` for the cross-attention. After each call
    ``cross_weights`` holds the cross-attention weights ``(B, T, S)`` (averaged over the heads)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        self.self_attn = MultiHeadAttention(dim, heads)
        self.multihead_attn = MultiHeadAttention(dim, heads)
        self.linear1 = nn.Linear(dim, mlp_ratio * dim)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(mlp_ratio * dim, dim)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.dropout1, self.dropout2, self.dropout3 = nn.Dropout(dropout), nn.Dropout(dropout), nn.Dropout(dropout)
        self.cross_weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None) -> torch.Tensor:
        normed = self.norm1(x)
        x = x + self.dropout1(self.self_attn(normed, normed, normed, mask)[0])
        attended, self.cross_weights = self.multihead_attn(self.norm2(x), memory, memory, memory_mask)
        x = x + self.dropout2(attended)
        return x + self.dropout3(self.linear2(self.dropout(F.gelu(self.linear1(self.norm3(x))))))


class EncoderDecoder(nn.Module):
    """A small encoder-decoder transformer (the original transformer's layout, pre-norm):
    ``EncoderDecoder(vocab_size, dim, layers, heads, context)``. One token embedding, shared by the
    source, the target and the output layer (weight tying), fixed sinusoidal positions, ``layers``
    :class:`TransformerBlock` over the source (no mask: every source token sees every other),
    ``layers`` :class:`DecoderBlock` over the target (causal, and cross-attending to the encoder's
    output), a final layer norm on each side. ``forward(source (B, S), target (B, T))`` returns the
    logits ``(B, T, V)`` of the token after each target position; ``encode(source)`` returns the
    memory ``(B, S, dim)`` and ``decode(target, memory)`` the logits."""

    def __init__(self, vocab_size: int, dim: int, layers: int, heads: int, context: int):
        super().__init__()
        self.token = nn.Embedding(vocab_size, dim)
        self.register_buffer("positions", sinusoidal_positions(context, dim), persistent=False)
        self.encoder = nn.ModuleList(TransformerBlock(dim, heads) for _ in range(layers))
        self.decoder = nn.ModuleList(DecoderBlock(dim, heads) for _ in range(layers))
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab_size, bias=False)
        self.head.weight = self.token.weight
        # std 1/sqrt(dim): the tied output layer starts with logits of about unit size; times sqrt(dim)
        # on the way in, token vectors have entries of about unit size, like the positions they are added to
        nn.init.normal_(self.token.weight, 0.0, dim ** -0.5)
        self.scale = math.sqrt(dim)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.shape[1] > len(self.positions):
            raise ValueError(f"{ids.shape[1]} tokens exceed the context of {len(self.positions)} positions")
        return self.token(ids) * self.scale + self.positions[:ids.shape[1]]

    def encode(self, source: torch.Tensor) -> torch.Tensor:
        x = self.embed(source)
        for block in self.encoder:
            x = block(x)
        return self.encoder_norm(x)

    def decode(self, target: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        x, mask = self.embed(target), causal_mask(target.shape[1], target.device)
        for block in self.decoder:
            x = block(x, memory, mask)
        return self.head(self.decoder_norm(x))

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.decode(target, self.encode(source))


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
        like = {"dtype": base.weight.dtype, "device": base.weight.device}  # on the base's device (a GPU's too)
        self.A = nn.Parameter(torch.randn(rank, base.in_features, **like) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank, **like))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * (x @ self.A.T) @ self.B.T

    def merge(self) -> nn.Linear:
        merged = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                           dtype=self.base.weight.dtype, device=self.base.weight.device)
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


POSITIONS = ("learned", "sinusoidal", "rope", "none")


def causal_self_attention(x: torch.Tensor, qkv: nn.Linear, proj: nn.Linear, heads: int) -> torch.Tensor:
    """Masked multi-head self-attention written out step by step: what :class:`CausalSelfAttention`
    computes (without its cache, dropout and rotary positions) for ``x (B, T, E)``. ``qkv`` maps
    ``E`` to ``3E`` features that hold the queries, keys and values side by side, each made of
    ``heads`` heads of ``E / heads`` features; ``proj`` maps the heads, side by side, back to ``E``.
    Position ``t``'s output depends on positions ``0..t`` only."""
    b, t, e = x.shape
    if e % heads:
        raise ValueError(f"the width {e} is not divisible by heads {heads}")
    size = e // heads
    q, k, v = (z.view(b, t, heads, size).transpose(1, 2) for z in qkv(x).chunk(3, dim=-1))  # 3 x (B, nh, T, hs)
    scores = q @ k.transpose(-2, -1) / math.sqrt(size)  # (B, nh, T, T): each head's own scale
    scores = scores.masked_fill(~causal_mask(t, x.device), float("-inf"))  # before the softmax: the future gets 0
    weights = torch.softmax(scores, dim=-1)  # each row sums to 1 over positions 0..t
    return proj((weights @ v).transpose(1, 2).reshape(b, t, e))  # heads side by side, then mixed


class CausalSelfAttention(nn.Module):
    """Masked multi-head self-attention for a decoder, with a key/value cache.

    ``forward(x (B, T, E), cache=None)`` returns ``(output (B, T, E), (keys, values))`` where keys
    and values ``(B, nh, past + T, hs)`` hold every position so far: pass them back as ``cache``
    with the next tokens and only those are computed. The query at absolute position ``p`` may
    attend to keys ``0..p``. Attention itself runs in ``F.scaled_dot_product_attention`` (fused,
    memory-efficient); ``rope=True`` rotates queries and keys with :func:`apply_rope`. The
    parameters (``qkv`` fused, then ``proj``) map one to one onto GPT-2's ``c_attn`` and ``c_proj``."""

    def __init__(self, dim: int, heads: int, rope: bool = False, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads, self.rope, self.dropout = heads, rope, dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor] | None = None):
        b, t, e = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, e // self.heads).permute(2, 0, 3, 1, 4)  # 3 x (B, nh, T, hs)
        past = 0 if cache is None else cache[0].shape[2]
        if self.rope:
            q, k = apply_rope(q, offset=past), apply_rope(k, offset=past)
        if cache is not None:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)  # (B, nh, past + T, hs)
        dropout = self.dropout if self.training else 0.0
        if past == 0:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, is_causal=t > 1)  # (B, nh, T, hs)
        else:  # query i sits at position past + i and may see keys 0 .. past + i
            allowed = torch.ones(t, past + t, dtype=torch.bool, device=x.device).tril(past)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=dropout)
        out = out.transpose(1, 2).reshape(b, t, e)  # (B, T, E): heads side by side
        return self.proj(out), (k, v)


class GPTBlock(nn.Module):
    """A pre-norm decoder block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))`` (GELU, 4x wide),
    as in GPT-2. ``forward(x, cache=None)`` returns ``(x, new cache)``."""

    def __init__(self, dim: int, heads: int, rope: bool = False, dropout: float = 0.0):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, rope, dropout)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache=None):
        attended, cache = self.attn(self.ln_1(x), cache)
        x = x + self.drop(attended)
        return x + self.mlp(self.ln_2(x)), cache


class GPT(nn.Module):
    """A decoder-only transformer language model in the layout of GPT-2.

    ``GPT(vocab_size, dim, layers, heads, context)``: token embedding, positions (``"learned"``
    as GPT-2, fixed ``"sinusoidal"``, rotary ``"rope"`` inside attention, or ``"none"``), ``layers``
    :class:`GPTBlock`, a final layer norm and an output layer tied to the token embedding (no
    bias). ``forward(ids (B, T))`` returns logits ``(B, T, V)``; ``step(ids, cache)`` returns
    ``(logits, cache)`` for generation with a key/value cache (``cache=None`` at the start).
    Weights start as GPT-2's: normal(0, 0.02), the residual projections scaled by 1/sqrt(2 layers)."""

    def __init__(self, vocab_size: int, dim: int, layers: int, heads: int, context: int,
                 positions: str = "learned", dropout: float = 0.0):
        super().__init__()
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {positions!r}")
        self.context, self.positions = context, positions
        self.token = nn.Embedding(vocab_size, dim)
        self.position = nn.Embedding(context, dim) if positions == "learned" else None
        if positions == "sinusoidal":
            self.register_buffer("fixed_positions", sinusoidal_positions(context, dim), persistent=False)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(GPTBlock(dim, heads, positions == "rope", dropout) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab_size, bias=False)
        self.head.weight = self.token.weight  # weight tying: one matrix reads and writes tokens
        for name, parameter in self.named_parameters():
            if parameter.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("attn.proj.weight", "mlp.2.weight")) else 0.02
                nn.init.normal_(parameter, 0.0, std)
            elif name.endswith(".bias"):
                nn.init.zeros_(parameter)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.step(ids)[0]

    def step(self, ids: torch.Tensor, cache: list | None = None) -> tuple[torch.Tensor, list]:
        b, t = ids.shape
        past = 0 if cache is None else cache[0][0].shape[2]
        if past + t > self.context:
            raise ValueError(f"{past} cached + {t} new tokens exceed the context of {self.context} positions")
        x = self.token(ids)  # (B, T, E)
        where = torch.arange(past, past + t, device=ids.device)
        if self.positions == "learned":
            x = x + self.position(where)
        elif self.positions == "sinusoidal":
            x = x + self.fixed_positions[where].to(x.dtype)
        x = self.drop(x)
        new_cache = []
        for block, layer_cache in zip(self.blocks, cache or [None] * len(self.blocks)):
            x, layer_cache = block(x, layer_cache)
            new_cache.append(layer_cache)
        return self.head(self.ln_f(x)), new_cache


@torch.no_grad()
def generate(model: nn.Module, prompt: torch.Tensor, steps: int, use_cache: bool = True,
             temperature: float = 0.0, top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Continue ``prompt`` (B, T0) int64 by ``steps`` tokens and return ``(B, T0 + steps)``.

    ``model.step(ids, cache)`` must return ``(logits, cache)`` (as :class:`GPT`). With
    ``use_cache`` the prompt is read once and then each step feeds only the newest token; without
    it every step reruns the model on the sequence so far. Tokens come from
    :func:`utils.recurrent.sample_next` (``temperature=0``: greedy), so both ways give the same
    tokens for the same generator as long as the sequence fits in ``model.context``. Beyond it the
    plain way keeps a sliding window of the last ``context`` tokens, and the cached way restarts
    its cache from the last ``context // 2`` tokens (then grows it again)."""
    from utils.recurrent import sample_next

    context = getattr(model, "context", None)
    tokens, cache = prompt, None
    if context is not None and prompt.shape[1] > context:
        raise ValueError(f"a prompt of {prompt.shape[1]} tokens does not fit in the context of {context}")
    logits, cache = model.step(prompt) if use_cache else (model(prompt), None)
    for i in range(steps):
        next_id = sample_next(logits[:, -1].float(), temperature, top_k, generator).view(-1, 1).to(prompt.device)
        tokens = torch.cat([tokens, next_id], dim=1)
        if i == steps - 1:
            break
        if not use_cache:
            logits = model(tokens if context is None else tokens[:, -context:])
        elif context is not None and tokens.shape[1] > context:
            logits, cache = model.step(tokens[:, -(context // 2):])  # the cache is full: start a new one
        else:
            logits, cache = model.step(next_id, cache)
    return tokens


def gpt2_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """``model``'s weights under the names of Hugging Face's ``GPT2LMHeadModel``, for a
    ``GPT2Config(vocab_size, n_positions=context, n_embd=dim, n_layer=layers, n_head=heads,
    activation_function="gelu")`` with dropout 0. GPT-2 stores its linear layers as ``Conv1D``
    with the weight transposed, ``(in, out)``; everything else keeps its shape."""
    if model.positions != "learned":
        raise ValueError(f"GPT-2 learns its positions; this model uses {model.positions!r} positions")
    state = {"transformer.wte.weight": model.token.weight, "transformer.wpe.weight": model.position.weight,
             "transformer.ln_f.weight": model.ln_f.weight, "transformer.ln_f.bias": model.ln_f.bias,
             "lm_head.weight": model.head.weight}
    for i, block in enumerate(model.blocks):
        ours = {"ln_1": block.ln_1, "ln_2": block.ln_2, "attn.c_attn": block.attn.qkv, "attn.c_proj": block.attn.proj,
                "mlp.c_fc": block.mlp[0], "mlp.c_proj": block.mlp[2]}
        for name, layer in ours.items():
            conv1d = isinstance(layer, nn.Linear)
            state[f"transformer.h.{i}.{name}.weight"] = layer.weight.T if conv1d else layer.weight
            state[f"transformer.h.{i}.{name}.bias"] = layer.bias
    return {name: tensor.detach().clone() for name, tensor in state.items()}


def saved_tensor_bytes(function, *args) -> tuple[object, int]:
    """Run ``function(*args)`` with autograd and return ``(result, bytes)``: the memory of the
    tensors autograd keeps for the backward pass (each storage counted once). This is where
    naive attention pays for its ``(T, T)`` weights; a fused kernel keeps O(T) instead."""
    storages: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = function(*args)
    return result, sum(storages.values())
