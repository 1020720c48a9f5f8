"""utils.recurrent against PyTorch's built-ins: same weights, float64, values and gradients."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from utils import recurrent as R

torch.set_default_dtype(torch.float32)


def close(a, b, what):
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12, msg=lambda m: f"{what}: {m}")


def grads(outputs, tensors):
    return torch.autograd.grad(outputs.pow(2).sum(), tensors)


# ---------------------------------------------------------------- windows and baselines

def test_make_windows_cuts_every_window_and_its_horizon():
    series = torch.arange(10.0)
    inputs, targets = R.make_windows(series, window=3, horizon=2)
    assert inputs.shape == (6, 3) and targets.shape == (6, 2)
    assert inputs[0].tolist() == [0, 1, 2] and targets[0].tolist() == [3, 4]
    assert inputs[-1].tolist() == [5, 6, 7] and targets[-1].tolist() == [8, 9]
    multi = torch.stack([series, -series], dim=1)  # (T, 2 features)
    inputs2, targets2 = R.make_windows(multi, 4, 1)
    assert inputs2.shape == (6, 4, 2) and targets2.shape == (6, 1, 2) and targets2[0, 0].tolist() == [4, -4]
    exact = R.make_windows(torch.arange(5.0), 4, 1)  # exactly one window
    assert exact[0].shape == (1, 4) and exact[1].item() == 4


def test_make_windows_rejects_a_series_shorter_than_the_window():
    with pytest.raises(ValueError, match="shorter than one window"):
        R.make_windows(torch.arange(4.0), 4, 1)
    with pytest.raises(ValueError, match="at least 1"):
        R.make_windows(torch.arange(9.0), 0, 1)


def test_seasonal_naive_repeats_the_last_season():
    history = torch.tensor([1.0, 2, 3, 4, 5, 6, 7])
    assert R.seasonal_naive_forecast(history, season=3, horizon=7).tolist() == [5, 6, 7, 5, 6, 7, 5]
    assert R.seasonal_naive_forecast(history, season=1, horizon=3).tolist() == [7, 7, 7]
    assert R.seasonal_naive_forecast(history, season=7, horizon=2).tolist() == [1, 2]
    with pytest.raises(ValueError, match="no full season"):
        R.seasonal_naive_forecast(history, season=8, horizon=1)


# ---------------------------------------------------------------- cells against nn

@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_forward_matches_nn_rnn_with_gradients(nonlinearity):
    torch.manual_seed(0)
    rnn = nn.RNN(3, 5, nonlinearity=nonlinearity).double()
    x = torch.randn(7, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    theirs, last = rnn(x, h0.unsqueeze(0))
    ours = R.rnn_forward(x, h0, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0, nonlinearity)
    close(ours, theirs, "all hidden states")
    close(ours[-1], last[0], "last hidden state")
    tensors = [x, h0, *rnn.parameters()]
    for a, b in zip(grads(ours, tensors), grads(theirs, tensors)):
        close(a, b, "gradient")
    one = R.rnn_forward(x[:1], h0, rnn.weight_ih_l0, rnn.weight_hh_l0, nonlinearity=nonlinearity)  # T = 1, no biases
    close(one[0], torch.tanh(x[0] @ rnn.weight_ih_l0.T + h0 @ rnn.weight_hh_l0.T) if nonlinearity == "tanh"
          else torch.relu(x[0] @ rnn.weight_ih_l0.T + h0 @ rnn.weight_hh_l0.T), "one step without biases")


def test_lstm_cell_and_forward_match_nn_lstm_with_gradients():
    torch.manual_seed(1)
    cell = nn.LSTMCell(4, 6).double()
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    h = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    c = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    ours = R.lstm_cell(x, (h, c), cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    theirs = cell(x, (h, c))
    close(ours[0], theirs[0], "h'")
    close(ours[1], theirs[1], "c'")
    tensors = [x, h, c, *cell.parameters()]
    for a, b in zip(grads(ours[0] + ours[1], tensors), grads(theirs[0] + theirs[1], tensors)):
        close(a, b, "gradient of the LSTM cell")

    lstm = nn.LSTM(4, 6).double()
    seq = torch.randn(9, 3, 4, dtype=torch.float64, requires_grad=True)
    outputs, (h_t, c_t) = R.lstm_forward(seq, (h, c), lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)
    expected, (h_e, c_e) = lstm(seq, (h.unsqueeze(0), c.unsqueeze(0)))
    close(outputs, expected, "LSTM outputs")
    close(h_t, h_e[0], "h_T")
    close(c_t, c_e[0], "c_T")
    tensors = [seq, *lstm.parameters()]
    for a, b in zip(grads(outputs, tensors), grads(expected, tensors)):
        close(a, b, "gradient of the LSTM over a sequence")


def test_lstm_module_is_interchangeable_with_nn_lstm():
    torch.manual_seed(2)
    ours = R.LSTM(3, 5).double()
    theirs = nn.LSTM(3, 5).double()
    assert set(ours.state_dict()) == set(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    (out_a, (h_a, c_a)), (out_b, (h_b, c_b)) = ours(x), theirs(x)
    close(out_a, out_b, "outputs")
    close(h_a, h_b, "h")
    close(c_a, c_b, "c")
    bound = 1 / math.sqrt(5)
    assert all(p.abs().max() <= bound for p in R.LSTM(3, 5).parameters())


def test_gru_cell_matches_nn_grucell_with_gradients():
    torch.manual_seed(3)
    cell = nn.GRUCell(4, 5).double()
    x = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    h = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    ours = R.gru_cell(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    theirs = cell(x, h)
    close(ours, theirs, "h'")
    tensors = [x, h, *cell.parameters()]
    for a, b in zip(grads(ours, tensors), grads(theirs, tensors)):
        close(a, b, "gradient of the GRU cell")
    # the reset gate multiplies (W_hn h + b_hn): with a large b_hn, putting r before the bias differs
    with torch.no_grad():
        cell.bias_hh[10:] = 5.0
    close(R.gru_cell(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh), cell(x, h), "h' with a large b_hn")


# ---------------------------------------------------------------- training helpers

def _with_grads(values):
    params = [nn.Parameter(torch.zeros(len(v), dtype=torch.float64)) for v in values]
    for p, v in zip(params, values):
        p.grad = torch.tensor(v, dtype=torch.float64)
    return params


@pytest.mark.parametrize("max_norm", [0.5, 5.0, 13.0, 100.0])  # 13 is the norm itself: the kink
def test_clip_grad_norm_matches_torch(max_norm):
    values = [[3.0, 4.0], [12.0]]  # global norm 13
    ours, theirs = _with_grads(values), _with_grads(values)
    theirs.append(nn.Parameter(torch.ones(2, dtype=torch.float64)))  # no gradient: skipped by both
    ours.append(nn.Parameter(torch.ones(2, dtype=torch.float64)))
    norm = R.clip_grad_norm(ours, max_norm)
    expected = nn.utils.clip_grad_norm_(theirs, max_norm)
    close(norm, expected, "returned norm")
    for a, b in zip(ours[:2], theirs[:2]):
        close(a.grad, b.grad, f"clipped gradient at max_norm={max_norm}")
    single, reference = _with_grads([[6.0, 8.0]])[0], _with_grads([[6.0, 8.0]])[0]
    R.clip_grad_norm(single, 5.0)  # one tensor instead of a list
    nn.utils.clip_grad_norm_(reference, 5.0)
    close(single.grad, reference.grad, "a single tensor")
    assert R.clip_grad_norm([nn.Parameter(torch.ones(2))], 1.0).item() == 0.0


def test_pad_and_mask_matches_pad_sequence_and_packs():
    sequences = [torch.randn(3, 2), torch.randn(5, 2), torch.randn(1, 2)]
    padded, mask, lengths = R.pad_and_mask(sequences, padding_value=-1.0)
    assert torch.equal(padded, nn.utils.rnn.pad_sequence(sequences, batch_first=True, padding_value=-1.0))
    assert mask.dtype == torch.bool and mask.sum(1).tolist() == [3, 5, 1] and lengths.tolist() == [3, 5, 1]
    assert mask[0].tolist() == [True, True, True, False, False]
    packed = nn.utils.rnn.pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
    assert packed.data.shape == (9, 2)
    with pytest.raises(ValueError, match="at least one"):
        R.pad_and_mask([])


def test_sample_next_temperature_top_k_and_seed():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0], [0.0, 0.0, 5.0, 1.0]])
    assert R.sample_next(logits, temperature=0).tolist() == [1, 2]
    assert R.sample_next(logits, top_k=1, generator=torch.Generator().manual_seed(0)).tolist() == [1, 2]
    first = R.sample_next(logits, 1.0, 2, torch.Generator().manual_seed(5))
    assert torch.equal(first, R.sample_next(logits, 1.0, 2, torch.Generator().manual_seed(5)))
    assert first.dtype == torch.int64 and first.shape == (2,)
    assert R.sample_next(logits[0], 0).shape == ()
    draws = torch.stack([R.sample_next(logits, 1.0, 2, torch.Generator().manual_seed(s)) for s in range(2000)])
    assert set(draws[:, 0].tolist()) == {1, 2}  # only the two largest
    share = (draws[:, 0] == 1).double().mean().item()
    assert share == pytest.approx(math.e / (math.e + 1), abs=0.04)  # softmax of (3, 2)
    cold = torch.stack([R.sample_next(logits, 0.25, None, torch.Generator().manual_seed(s)) for s in range(300)])
    assert (cold[:, 0] == 1).double().mean() > 0.95  # a low temperature sharpens
    tied = torch.tensor([2.0, 2.0, 1.0, 0.0])  # ties with the k-th largest are kept
    assert set(R.sample_next(tied, 1.0, 1, torch.Generator().manual_seed(s)).item() for s in range(50)) == {0, 1}
    with pytest.raises(ValueError, match="temperature"):
        R.sample_next(logits, -1.0)
    with pytest.raises(ValueError, match="top_k"):
        R.sample_next(logits, 1.0, 0)


def test_perplexity_and_bits_per_char():
    assert R.perplexity(math.log(27)).item() == pytest.approx(27)
    assert R.bits_per_char(math.log(2)).item() == pytest.approx(1.0)
    assert R.bits_per_char(torch.tensor(0.0)).item() == 0.0 and R.perplexity(0.0).item() == 1.0
    loss = nn.functional.cross_entropy(torch.zeros(4, 8), torch.arange(4))  # uniform over 8
    assert R.bits_per_char(loss).item() == pytest.approx(3.0) and R.perplexity(loss).item() == pytest.approx(8.0)


def test_char_lstm_step_continues_the_forward_pass_and_sequence_loss_is_cross_entropy():
    torch.manual_seed(0)
    model = R.CharLSTM(11, 4, 6).double()
    ids = torch.randint(0, 11, (2, 7))
    logits = model(ids)
    first, state = model.step(ids[:, :3])
    rest, _ = model.step(ids[:, 3:], state)
    torch.testing.assert_close(torch.cat([first, rest], 1), logits, rtol=1e-12, atol=1e-12)
    targets = torch.randint(0, 11, (2, 7))
    expected = torch.stack([F.cross_entropy(logits[b], targets[b], reduction="none") for b in range(2)]).mean()
    torch.testing.assert_close(R.sequence_loss(logits, targets), expected.float(), rtol=1e-6, atol=1e-7)


def test_stream_batches_rows_continue_each_other():
    ids = torch.arange(23)
    batches = R.stream_batches(ids, batch_size=2, seq_len=4)  # rows of 11: windows at 0 and 4 (8 would need 12)
    assert len(batches) == 2
    (x0, y0), (x1, y1) = batches
    assert x0.tolist() == [[0, 1, 2, 3], [11, 12, 13, 14]] and x1.tolist() == [[4, 5, 6, 7], [15, 16, 17, 18]]
    assert torch.equal(y0, x0 + 1) and torch.equal(y1, x1 + 1)
    with pytest.raises(ValueError, match="shorter than one window"):
        R.stream_batches(ids, batch_size=8, seq_len=4)


def test_train_tbptt_equals_one_long_forward_pass_cut_into_windows():
    """With lr = 0 the weights never change: the carried, detached state must give the losses of one
    forward pass over the whole rows, window by window; the gradient of each window stops at its start."""
    torch.manual_seed(0)
    model = R.CharLSTM(7, 4, 5).double()
    ids = torch.randint(0, 7, (41,))
    batches = R.stream_batches(ids, batch_size=2, seq_len=5)
    losses = R.train_tbptt(model, batches, torch.optim.SGD(model.parameters(), lr=0.0))
    whole_inputs = torch.cat([x for x, _ in batches], dim=1)
    whole_logits = model(whole_inputs)
    expected = [R.sequence_loss(whole_logits[:, 5 * t:5 * t + 5], y).item() for t, (_, y) in enumerate(batches)]
    assert losses == pytest.approx(expected, rel=1e-10)
    last_x, last_y = batches[-1]
    _, state = model.step(torch.cat([x for x, _ in batches[:-1]], dim=1))
    model.zero_grad()
    R.sequence_loss(model.step(last_x, tuple(s.detach() for s in state))[0], last_y).backward()
    truncated = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    R.train_tbptt(model, batches[-1:], torch.optim.SGD(model.parameters(), lr=0.0))  # a fresh start: no state
    assert any(not torch.allclose(p.grad, g) for p, g in zip(model.parameters(), truncated))  # the state matters
