"""The graded exercises' reference implementations, and the check that answers do not call them.

The lessons import the course's reference implementations (``from utils import layers as ref``)
and use them freely. Those references are also the answers to the exercises, so an answer must
not call the reference of its own exercise: read ``utils`` as much as you like, but write your
own code. :func:`guard_references` (called by :func:`utils.setup`) checks this while the
notebook runs, in JupyterLab, under nbgrader's Validate and in the grader alike:

- each reference in :data:`REFERENCES` is wrapped (a class gets its ``__init__`` wrapped); a call
  whose stack holds code of the notebook cell that defined the exercise's answer raises
  :class:`ReferenceImplementationCalled`, with a message that says which reference and why;
- after a cell defines an exercise's name, an answer that *is* the reference (``cross_entropy =
  ref.cross_entropy``, a ``functools.partial`` of it, a subclass of a reference class) is
  replaced by a function that raises the same error.

The failing test cell then scores 0 and says why. With ``DLCOURSE_REFERENCE_CALLS=note`` (an
instructor's setting, see ``python -m dlcourse.grading.grade --reference-calls note``) the call goes through
and a notice is printed instead, which the grader reports in its summary.
"""

from __future__ import annotations

import ast
import functools
import importlib
import os
import sys
import types

# exercise name (the name its answer cell defines) -> the reference implementations it must not call
REFERENCES: dict[str, tuple[str, ...]] = {
    # 01_fundamentals
    "polynomial_features": ("utils.fundamentals:polynomial_features",),
    "pairwise_squared_distances": ("utils.fundamentals:pairwise_squared_distances",),
    "numerical_gradient": ("utils.fundamentals:numerical_gradient",),
    "mse_gradients": ("utils.fundamentals:mse_gradients",),
    "sgd_step": ("utils.fundamentals:sgd_step",),
    "ArrayDataset": ("utils.fundamentals:ArrayDataset",),
    "train_val_split": ("utils.fundamentals:train_val_split",),
    # 02_classical_ml
    "standardize": ("utils.classical:standardize",),
    "kfold_indices": ("utils.classical:kfold_indices",),
    "normal_equation": ("utils.classical:normal_equation",),
    "ridge_regression": ("utils.classical:ridge_regression",),
    "cross_val_predict": ("utils.classical:cross_val_predict",),
    "knn_predict": ("utils.classical:knn_predict", "utils.classical:knn_distances"),
    "bce_with_logits": ("utils.classical:binary_cross_entropy_with_logits",),
    "kmeans_assign": ("utils.classical:kmeans_assign",),
    "kmeans_plus_plus": ("utils.classical:kmeans_plus_plus",),
    "pca_project": ("utils.classical:pca",),
    # 03_mlp
    "linear_forward": ("utils.layers:linear",),
    "silu_and_derivative": ("utils.layers:silu_and_derivative",),
    "cross_entropy": ("utils.layers:cross_entropy",),
    "mlp_backward": ("utils.layers:mlp_backward",),
    "adamw_step": ("utils.optim:adamw_step",),
    "inverted_dropout": ("utils.layers:inverted_dropout",),
    "batch_norm_train": ("utils.layers:batch_norm_train",),
    "EarlyStopper": ("utils.training:EarlyStopping",),
    "make_mlp": ("utils.layers:make_mlp",),
    "make_deep_mlp": ("utils.layers:make_deep_mlp",),
    "train_step": ("utils.training:train_step",),
    # 04_cnn
    "conv_output_size": ("utils.conv:conv_output_size",),
    "conv2d": ("utils.conv:conv2d", "utils.conv:conv2d_naive"),
    "max_pool2d": ("utils.conv:max_pool2d",),
    "receptive_field": ("utils.conv:receptive_field",),
    "ResidualBlock": ("utils.conv:ResidualBlock",),
    "random_crop_flip": ("utils.conv:random_crop_flip",),
    "evaluate_accuracy": ("utils.training:evaluate",),
    "freeze_backbone": ("utils.conv:freeze_backbone",),
    "fgsm": ("utils.conv:fgsm",),
    # 05_rnn
    "make_windows": ("utils.recurrent:make_windows",),
    "seasonal_naive_forecast": ("utils.recurrent:seasonal_naive_forecast",),
    "rnn_forward": ("utils.recurrent:rnn_forward",),
    "clip_grad_norm": ("utils.recurrent:clip_grad_norm",),
    "lstm_cell": ("utils.recurrent:lstm_cell", "utils.recurrent:lstm_forward"),
    "gru_cell": ("utils.recurrent:gru_cell",),
    "pad_and_mask": ("utils.recurrent:pad_and_mask",),
    "train_tbptt": ("utils.recurrent:train_tbptt",),
    "sample_next": ("utils.recurrent:sample_next",),
    # 06_transformers
    "scaled_dot_product_attention": ("utils.attention:scaled_dot_product_attention",),
    "causal_mask": ("utils.attention:causal_mask",),
    "MultiHeadAttention": ("utils.attention:MultiHeadAttention",),
    "sinusoidal_positions": ("utils.attention:sinusoidal_positions",),
    "apply_rope": ("utils.attention:apply_rope",),
    "TransformerBlock": ("utils.attention:TransformerBlock",),
    "bpe_merge_step": ("utils.attention:bpe_merge_step",),
    "causal_self_attention": ("utils.attention:causal_self_attention", "utils.attention:CausalSelfAttention"),
    "generate_cached": ("utils.attention:generate",),
    "patchify": ("utils.attention:patchify",),
    "LoRALinear": ("utils.attention:LoRALinear",),
    # 07_metrics
    "confusion_matrix": ("utils.metrics:confusion_matrix",),
    "precision_recall_f1": ("utils.metrics:precision_recall_f1",),
    "roc_auc": ("utils.metrics:roc_auc", "utils.metrics:roc_curve", "utils.metrics:counts_at_thresholds"),
    "average_precision": ("utils.metrics:average_precision", "utils.metrics:precision_recall_curve",
                          "utils.metrics:counts_at_thresholds"),
    "threshold_for_recall": ("utils.metrics:threshold_for_recall", "utils.metrics:precision_recall_curve",
                             "utils.metrics:counts_at_thresholds"),
    "expected_calibration_error": ("utils.metrics:expected_calibration_error", "utils.metrics:reliability_bins"),
    "fit_temperature": ("utils.metrics:fit_temperature",),
    "bootstrap_ci": ("utils.metrics:bootstrap_ci",),
    "mcnemar": ("utils.metrics:mcnemar",),
    # 08_scale_and_deploy
    "accumulate_gradients": ("utils.scale:accumulate_gradients",),
    "update_loss_scale": ("utils.scale:update_loss_scale",),
    "ring_all_reduce": ("utils.parallel:ring_all_reduce",),
    "shard_indices": ("utils.parallel:shard_indices",),
    "save_training_state": ("utils.scale:save_training_state",),
    "load_training_state": ("utils.scale:load_training_state",),
    "quantize_int8": ("utils.deploy:quantize_int8",),
    "magnitude_prune_mask": ("utils.deploy:magnitude_prune_mask",),
    "validate_images": ("utils.deploy:validate_images",),
    "percentile": ("utils.deploy:percentile",),
    # 09_generative
    "reparameterize": ("utils.generative:reparameterize",),
    "gaussian_kl": ("utils.generative:gaussian_kl",),
    "negative_elbo": ("utils.generative:negative_elbo",),
    "discriminator_loss": ("utils.generative:discriminator_loss",),
    "generator_loss": ("utils.generative:generator_loss",),
    "cosine_betas": ("utils.generative:cosine_betas",),
    "q_sample": ("utils.generative:q_sample",),
    "ddpm_step": ("utils.generative:ddpm_step",),
    "frechet_distance": ("utils.generative:frechet_distance",),
    # 10_trustworthy_ml
    "permutation_importance": ("utils.explain:permutation_importance",),
    "shapley_values": ("utils.explain:shapley_values", "utils.explain:kernel_shap", "utils.explain:coalition_values"),
    "integrated_gradients": ("utils.explain:integrated_gradients",),
    "pgd_step": ("utils.robustness:pgd_step", "utils.robustness:pgd_attack"),
    "equalized_odds_gaps": ("utils.fairness:equalized_odds_gaps", "utils.fairness:group_rates"),
    "reweighing_weights": ("utils.fairness:reweighing_weights",),
    "per_sample_gradients": ("utils.privacy:per_sample_gradients",),
    "privatize_gradients": ("utils.privacy:privatize_gradients", "utils.privacy:clip_factors"),
}
MODE_ENV = "DLCOURSE_REFERENCE_CALLS"  # "error" (default) or "note"
NOTICE = "[course] {answer} calls {reference}, the course's reference implementation of this exercise"


class ReferenceImplementationCalled(RuntimeError):
    """An answer called (or is) the course's reference implementation of its own exercise."""


_answer_files: dict[str, set[str]] = {}  # exercise -> file names of the cells that defined its answer
_installed: dict[str, object] = {}  # "module:attr" -> the original object


def _message(answer: str, reference: str) -> str:
    return (f"{answer} calls {reference.replace(':', '.')}, the course's reference implementation of this "
            "exercise. Read it if you like, but write your own code: an answer that calls it scores 0.")


def _mode() -> str:
    return "note" if os.environ.get(MODE_ENV, "").strip().lower() == "note" else "error"


def _caller_answer(exercise_of: tuple[str, ...]) -> str | None:
    """The exercise among ``exercise_of`` whose answer cell's code is on the current stack, or, for
    a call made in another thread than the main one (an answer that hands the reference to a
    thread pool and waits for it), on any thread's stack."""
    import threading

    files = {name: _answer_files.get(name, set()) for name in exercise_of}
    stacks = [sys._getframe(2)]
    if threading.current_thread() is not threading.main_thread():
        stacks += [frame for ident, frame in sys._current_frames().items() if ident != threading.get_ident()]
    for frame in stacks:
        while frame is not None:
            filename = frame.f_code.co_filename
            for name, names in files.items():
                if filename in names:
                    return name
            frame = frame.f_back
    return None


def _flag(answer: str, reference: str) -> None:
    if _mode() == "note":
        print(NOTICE.format(answer=answer, reference=reference.replace(":", ".")))
    else:
        raise ReferenceImplementationCalled(_message(answer, reference))


def _exercises_of(reference: str) -> tuple[str, ...]:
    return tuple(name for name, refs in REFERENCES.items() if reference in refs)


def _wrap_function(function, reference: str):
    exercises = _exercises_of(reference)

    def checked(*args, **kwargs):
        answer = _caller_answer(exercises)
        if answer is not None:
            _flag(answer, reference)
        return function(*args, **kwargs)

    for attribute in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(checked, attribute, getattr(function, attribute, None))
    checked.__signature__ = _signature(function)
    checked._dlcourse_reference = reference
    return checked


def _signature(function):
    import inspect

    try:
        return inspect.signature(function)
    except (TypeError, ValueError):
        return None


def _wrap_class(cls, reference: str) -> None:
    exercises = _exercises_of(reference)
    init = cls.__dict__.get("__init__")
    if init is None or getattr(init, "_dlcourse_reference", None):
        return

    def checked_init(self, *args, **kwargs):
        answer = _caller_answer(exercises)
        if answer is not None and type(self) is cls:
            _flag(answer, reference)
        return init(self, *args, **kwargs)

    functools.update_wrapper(checked_init, init)
    del checked_init.__wrapped__
    checked_init._dlcourse_reference = reference
    cls.__init__ = checked_init


def _original(reference: str):
    return _installed.get(reference)


def guard_references() -> None:
    """Wrap every reference of :data:`REFERENCES` (once) and watch the cells that define answers."""
    for references in REFERENCES.values():
        for reference in references:
            if reference in _installed:
                continue
            module_name, attribute = reference.split(":")
            module = importlib.import_module(module_name)
            original = getattr(module, attribute)
            _installed[reference] = original
            if isinstance(original, type):
                _wrap_class(original, reference)
            else:
                setattr(module, attribute, _wrap_function(original, reference))
    shell = _shell()
    if shell is None:
        return
    namespace = shell.user_ns
    wrapped = {id(_installed[r]): getattr(importlib.import_module(r.split(":")[0]), r.split(":")[1])
               for r in _installed}
    for name, value in list(namespace.items()):  # names bound before the guard: from utils.x import f
        if not isinstance(value, type) and id(value) in wrapped:
            namespace[name] = wrapped[id(value)]
    if _after_cell not in shell.events.callbacks["post_run_cell"]:
        shell.events.register("post_run_cell", _after_cell)


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _defined_names(source: str) -> set[str]:
    """Names a cell binds at its top level (def, class, assignment)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for target in targets for t in ast.walk(target) if isinstance(t, ast.Name))
    return names


def _files_of(value) -> set[str]:
    """File names of the code of a function, or of the methods of a class."""
    functions = [value] if not isinstance(value, type) else [
        getattr(v, "__func__", v) for v in vars(value).values()]
    return {f.__code__.co_filename for f in functions if isinstance(f, types.FunctionType)}


def _is_reference(value, references: tuple[str, ...]) -> bool:
    originals = [_original(r) for r in references]
    current = [getattr(importlib.import_module(r.split(":")[0]), r.split(":")[1]) for r in references]
    candidates = [value, getattr(value, "func", None), getattr(value, "__func__", None)]
    for candidate in candidates:
        if candidate is None:
            continue
        if any(candidate is o for o in originals + current):
            return True
        if isinstance(candidate, type) and any(isinstance(o, type) and issubclass(candidate, o) for o in originals):
            return True
    return False


def _after_cell(result) -> None:
    """After a cell that defines an exercise's name: remember its code's file, and replace an
    answer that is the reference itself."""
    source = getattr(getattr(result, "info", None), "raw_cell", "") or ""
    shell = _shell()
    if shell is None:
        return
    for name in _defined_names(source) & set(REFERENCES):
        value = shell.user_ns.get(name)
        if value is None or getattr(value, "_dlcourse_reference", None) == "stand-in":
            continue
        if _is_reference(value, REFERENCES[name]):
            reference = REFERENCES[name][0]
            if _mode() == "note":
                print(NOTICE.format(answer=name, reference=reference.replace(":", ".")))
                continue

            def stand_in(*args, _name=name, _reference=reference, **kwargs):
                raise ReferenceImplementationCalled(_message(_name, _reference))

            stand_in._dlcourse_reference = "stand-in"
            shell.user_ns[name] = stand_in
            continue
        _answer_files.setdefault(name, set()).update(_files_of(value))
