"""Reference implementations for chapter 05 (sequences, recurrent networks, LSTM and GRU).

Everything here is written out with tensor operations so that it can be read next to the
equations; each function is tested against the PyTorch built-in (``nn.RNN``, ``nn.LSTMCell``,
``nn.GRUCell``, ``clip_grad_norm_``, ``pad_sequence``) with the same weights, in float64, with
gradients (tests/test_recurrent.py).

Weight layout, as in PyTorch: ``weight_ih`` is ``(gates * hidden, input)``, ``weight_hh`` is
``(gates * hidden, hidden)``, with the gates stacked in the order LSTM ``(i, f, g, o)`` and GRU
``(r, z, n)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "make_windows", "seasonal_naive_forecast", "rnn_forward", "lstm_cell", "lstm_forward", "gru_cell",
    "clip_grad_norm", "pad_and_mask", "sample_next", "perplexity", "bits_per_char", "LSTM",
    "CharLSTM", "sequence_loss",
]


def make_windows(series: torch.Tensor, window: int, horizon: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut a series of shape ``(T,)`` or ``(T, features)`` into every window of ``window`` steps
    and the ``horizon`` steps that follow it: inputs ``(N, window, ...)``, targets
    ``(N, horizon, ...)`` with ``N = T - window - horizon + 1``. Input ``k`` is
    ``series[k : k + window]``, its target ``series[k + window : k + window + horizon]``.

    Cut the training and the test part separately (never one series across the split), so
    that no target of the training windows lies in the test period.
    """
    if window < 1 or horizon < 1:
        raise ValueError(f"window and horizon must be at least 1, got window={window}, horizon={horizon}")
    count = series.shape[0] - window - horizon + 1
    if count < 1:
        raise ValueError(f"a series of {series.shape[0]} steps is shorter than one window of {window} steps "
                         f"plus a horizon of {horizon}: use a shorter window or a longer series")
    index = torch.arange(count, device=series.device).unsqueeze(1)
    inputs = series[index + torch.arange(window, device=series.device)]
    targets = series[index + window + torch.arange(horizon, device=series.device)]
    return inputs, targets


def seasonal_naive_forecast(history: torch.Tensor, season: int, horizon: int) -> torch.Tensor:
    """Forecast ``horizon`` steps by repeating the last full season of ``history`` (shape
    ``(T,)`` or ``(T, features)``): step ``h`` (0-based) is ``history[T - season + h % season]``.
    ``season=1`` is the last-value (naive) forecast."""
    if season < 1 or horizon < 1:
        raise ValueError(f"season and horizon must be at least 1, got season={season}, horizon={horizon}")
    if history.shape[0] < season:
        raise ValueError(f"a history of {history.shape[0]} steps holds no full season of {season} steps")
    last = history[history.shape[0] - season:]
    return last[torch.arange(horizon, device=history.device) % season]


def rnn_forward(x: torch.Tensor, h0: torch.Tensor, weight_ih: torch.Tensor, weight_hh: torch.Tensor,
                bias_ih: torch.Tensor | None = None, bias_hh: torch.Tensor | None = None,
                nonlinearity: str = "tanh") -> torch.Tensor:
    """An Elman RNN unrolled through time, as ``nn.RNN`` (one layer, ``batch_first=False``):
    ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``. ``x`` is ``(T, B, input)``,
    ``h0`` is ``(B, hidden)``; returns every hidden state, ``(T, B, hidden)``."""
    activation = {"tanh": torch.tanh, "relu": torch.relu}[nonlinearity]
    projected = F.linear(x, weight_ih, bias_ih)  # all time steps at once: (T, B, hidden)
    h, states = h0, []
    for t in range(x.shape[0]):
        h = activation(projected[t] + F.linear(h, weight_hh, bias_hh))
        states.append(h)
    return torch.stack(states)


def lstm_cell(x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], weight_ih: torch.Tensor,
              weight_hh: torch.Tensor, bias_ih: torch.Tensor | None = None,
              bias_hh: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step, as ``nn.LSTMCell``: gates ``i, f, g, o`` (in this order in the weights),
    ``c' = f * c + i * g``, ``h' = o * tanh(c')``; returns ``(h', c')``."""
    return _lstm_update(F.linear(x, weight_ih, bias_ih), state, weight_hh, bias_hh)


def _lstm_update(projected: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], weight_hh: torch.Tensor,
                 bias_hh: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The LSTM step given the input's projection ``x W_ih^T + b_ih``: returns ``(h', c')``."""
    h, c = state
    i, f, g, o = (projected + F.linear(h, weight_hh, bias_hh)).chunk(4, dim=-1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


def lstm_forward(x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], weight_ih: torch.Tensor,
                 weight_hh: torch.Tensor, bias_ih: torch.Tensor | None = None, bias_hh: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """:func:`lstm_cell` over a sequence ``(T, B, input)``: returns ``(outputs (T, B, hidden),
    (h_T, c_T))`` as ``nn.LSTM`` (one layer) does. The input projection of every step is one
    matrix product up front."""
    projected = F.linear(x, weight_ih, bias_ih)
    outputs = []
    for t in range(x.shape[0]):
        state = _lstm_update(projected[t], state, weight_hh, bias_hh)
        outputs.append(state[0])
    return torch.stack(outputs), state


def gru_cell(x: torch.Tensor, h: torch.Tensor, weight_ih: torch.Tensor, weight_hh: torch.Tensor,
             bias_ih: torch.Tensor | None = None, bias_hh: torch.Tensor | None = None) -> torch.Tensor:
    """One GRU step, as ``nn.GRUCell``: gates ``r, z, n`` (in this order in the weights),
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` (the reset gate multiplies the hidden
    part *after* its bias), ``h' = (1 - z) * n + z * h``."""
    x_r, x_z, x_n = F.linear(x, weight_ih, bias_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, weight_hh, bias_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


class LSTM(nn.Module):
    """A one-layer LSTM written with :func:`lstm_forward`, with ``nn.LSTM``'s parameter names
    and initialisation (uniform in +-1/sqrt(hidden)), so that state dicts are interchangeable
    with ``nn.LSTM(input_size, hidden_size)`` (``batch_first=False``)."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih_l0 = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh_l0 = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih_l0 = nn.Parameter(torch.empty(4 * hidden_size))
        self.bias_hh_l0 = nn.Parameter(torch.empty(4 * hidden_size))
        bound = 1 / math.sqrt(hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        if state is None:
            zeros = x.new_zeros(1, x.shape[1], self.hidden_size)
            state = (zeros, zeros)
        outputs, (h, c) = lstm_forward(x, (state[0][0], state[1][0]), self.weight_ih_l0, self.weight_hh_l0,
                                       self.bias_ih_l0, self.bias_hh_l0)
        return outputs, (h.unsqueeze(0), c.unsqueeze(0))


def clip_grad_norm(parameters: Iterable[torch.Tensor] | torch.Tensor, max_norm: float) -> torch.Tensor:
    """Scale the gradients of ``parameters`` in place so that their global L2 norm is at most
    ``max_norm``, as ``torch.nn.utils.clip_grad_norm_``: the factor is
    ``min(1, max_norm / (norm + 1e-6))``. Parameters without a gradient are skipped. Returns the
    norm before clipping (a 0-dimensional tensor; 0 when no parameter has a gradient)."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach()) for g in grads]))
    factor = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.detach().mul_(factor.to(g.dtype))
    return total


def pad_and_mask(sequences: Sequence[torch.Tensor], padding_value: float = 0.0
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stack sequences of different lengths (each ``(L_i, ...)``) into ``(B, L_max, ...)``,
    padded at the end with ``padding_value``; returns ``(padded, mask, lengths)`` with
    ``mask[b, t]`` True where ``t < L_b`` (a real step) and ``lengths`` an int64 tensor, as
    ``pack_padded_sequence`` wants them."""
    if len(sequences) == 0:
        raise ValueError("pad_and_mask needs at least one sequence")
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    padded = nn.utils.rnn.pad_sequence(list(sequences), batch_first=True, padding_value=padding_value)
    mask = torch.arange(padded.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
    return padded, mask.to(padded.device), lengths


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw one token per row of ``logits`` ``(B, V)`` (or ``(V,)``): divide by ``temperature``,
    keep the ``top_k`` largest (the others get probability 0), softmax, then one
    ``torch.multinomial`` draw with ``generator``; values tied with the k-th largest are kept too.
    ``temperature=0`` means greedy (argmax).
    Returns int64 indices of shape ``(B,)`` (or ``()``)."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1 (or None for all tokens), got {top_k}")
    single = logits.dim() == 1
    logits = logits.unsqueeze(0) if single else logits
    if temperature == 0:
        choice = logits.argmax(dim=-1)
    else:
        scaled = logits / temperature
        if top_k is not None and top_k < scaled.shape[-1]:
            kth = scaled.topk(top_k, dim=-1).values[:, -1:]
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
        probabilities = torch.softmax(scaled.float(), dim=-1)
        if generator is not None:  # a generator draws on its own device: one seed, the same tokens on CPU and GPU
            probabilities = probabilities.to(generator.device)
        choice = torch.multinomial(probabilities, 1, generator=generator).squeeze(1).to(logits.device)
    return choice[0] if single else choice


def perplexity(loss_nats: float | torch.Tensor) -> torch.Tensor:
    """``exp(mean cross-entropy in nats)``: the number of equally likely choices the model is
    as unsure as."""
    return torch.exp(torch.as_tensor(loss_nats, dtype=torch.float64))


def bits_per_char(loss_nats: float | torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per character in bits: ``nats / ln 2``."""
    return torch.as_tensor(loss_nats, dtype=torch.float64) / math.log(2)


class CharLSTM(nn.Module):
    """Chapter 05's character-level language model: embedding -> ``nn.LSTM`` (batch first) ->
    linear layer over the vocabulary. ``forward(ids (B, T))`` returns logits ``(B, T, V)``;
    ``step(ids, state)`` returns ``(logits, state)`` to continue a sequence."""

    def __init__(self, vocabulary_size: int, embedding: int, hidden: int):
        super().__init__()
        self.embed = nn.Embedding(vocabulary_size, embedding)
        self.lstm = nn.LSTM(embedding, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocabulary_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.step(ids)[0]

    def step(self, ids: torch.Tensor, state=None):
        outputs, state = self.lstm(self.embed(ids), state)
        return self.head(outputs), state


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy in nats over every position of logits ``(B, T, V)`` and targets ``(B, T)``."""
    return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())


def stream_batches(ids: torch.Tensor, batch_size: int, seq_len: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive (inputs, targets) windows for truncated backpropagation through time: the stream is
    cut into ``batch_size`` contiguous rows, so that row b of window t + 1 continues row b of window t
    and a state carried from one window to the next has read the text before it. Each window is
    ``(B, seq_len)`` ids and the ``(B, seq_len)`` ids one position later; a last, shorter window is dropped.
    """
    rows = (len(ids) - 1) // batch_size  # ids per row, keeping one for the last target
    if rows < seq_len:
        raise ValueError(f"{len(ids)} ids make rows of {rows}, shorter than one window of {seq_len}: "
                         "use a smaller batch_size or seq_len")
    inputs = ids[:rows * batch_size].view(batch_size, rows)
    targets = ids[1:rows * batch_size + 1].view(batch_size, rows)
    return [(inputs[:, start:start + seq_len], targets[:, start:start + seq_len])
            for start in range(0, rows - seq_len + 1, seq_len)]


def train_tbptt(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                optimizer: torch.optim.Optimizer, max_grad_norm: float | None = None) -> list[float]:
    """Truncated backpropagation through time over consecutive windows (:func:`stream_batches`):
    the state leaves each window as the next one's starting state, detached, so that each
    backward pass stops at the window's start. ``model.step(ids, state) -> (logits, state)`` as in
    :class:`CharLSTM`. Returns the loss of every window (before its update) as floats."""
    model.train()
    state, losses = None, []
    for inputs, targets in batches:
        if state is not None:
            state = tuple(part.detach() for part in state)  # keep the values, cut the graph
        logits, state = model.step(inputs, state)
        loss = sequence_loss(logits, targets)
        optimizer.zero_grad()
        loss.backward()
        if max_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses
