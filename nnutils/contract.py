"""The graded-function contract of COURSE.md §5: which function belongs to which topic.

Graders and outside tools rely on these names and signatures; ``tests/test_contract.py`` checks
that every one is exported by ``nnutils`` with exactly the documented signature. The grader uses
this table to know which library functions to disable inside a submission's sandbox.
"""

CONTRACT: dict[str, dict[str, str]] = {
    "perceptron": {
        "perceptron_predict": "(X, w, b)",
        "perceptron_update": "(w, b, x, y, lr=1.0)",
        "perceptron_train": "(X, y, lr=1.0, epochs=100)",
        "xor_network": "()",
    },
    "backprop": {
        "affine_forward": "(x, w, b)",
        "affine_backward": "(dout, cache)",
        "relu_forward": "(x)",
        "relu_backward": "(dout, cache)",
        "sigmoid_forward": "(x)",
        "sigmoid_backward": "(dout, cache)",
        "tanh_forward": "(x)",
        "tanh_backward": "(dout, cache)",
        "softmax_cross_entropy": "(scores, y)",
        "squared_loss": "(pred, target)",
        "numerical_gradient": "(f, x, h=1e-05)",
        "rel_error": "(a, b)",
        "two_layer_net": "(X, y, params, reg=0.0)",
    },
    "optimizers": {
        "sgd_step": "(w, dw, lr)",
        "momentum_step": "(w, dw, v, lr, beta=0.9)",
        "nesterov_step": "(w, dw, v, lr, beta=0.9)",
        "adagrad_step": "(w, dw, cache, lr, eps=1e-08)",
        "rmsprop_step": "(w, dw, cache, lr, decay=0.9, eps=1e-08)",
        "adam_step": "(w, dw, m, v, t, lr, beta1=0.9, beta2=0.999, eps=1e-08)",
        "step_decay": "(lr0, epoch, drop=0.5, every=5)",
        "exponential_decay": "(lr0, epoch, k)",
        "inverse_time_decay": "(lr0, epoch, k)",
        "xavier_uniform": "(fan_in, fan_out, rng)",
        "he_normal": "(fan_in, fan_out, rng)",
    },
    "regularization": {
        "l2_penalty": "(weights, reg)",
        "dropout_forward": "(x, p, train, rng)",
        "dropout_backward": "(dout, cache)",
        "early_stopping": "(val_losses, patience)",
        "random_shift": "(images, max_shift, rng)",
    },
    "convnets": {
        "conv2d_forward": "(x, w, b, stride=1, pad=0)",
        "conv2d_backward": "(dout, cache)",
        "maxpool2d_forward": "(x, size=2, stride=2)",
        "maxpool2d_backward": "(dout, cache)",
    },
    "rnns": {
        "rnn_step_forward": "(x, h_prev, Wx, Wh, b)",
        "rnn_step_backward": "(dh, cache)",
        "rnn_forward": "(x, h0, Wx, Wh, b)",
        "rnn_backward": "(dh, cache)",
        "lstm_step_forward": "(x, h_prev, c_prev, Wx, Wh, b)",
        "lstm_step_backward": "(dh, dc, cache)",
        "clip_gradients": "(grads, max_norm)",
    },
}

ALL_FUNCTIONS: dict[str, str] = {name: sig for topic in CONTRACT.values()
                                 for name, sig in topic.items()}


# Every other piece of the library that computes a graded function, or its core, under another
# name: private update rules behind the public functions, naive and fast variants, a model's
# method, the grading checks' own helpers, a whole training loop. Inside a submission's sandbox
# these are switched off together with the graded function (``grading.sandbox.build_library``),
# so calling them earns nothing. Entries are "module:qualified name" inside ``nnutils``.
# ``tests/test_grading_shortcuts.py`` runs every function of the library on each graded
# function's inputs and fails when one computes the same result without being listed here.
_TRAINING_LOOPS = ("train:train", "train:_run_epoch")

SHORTCUTS: dict[str, tuple[str, ...]] = {
    # 01_perceptron
    "perceptron_predict": ("perceptron:sign_network_forward",),
    "perceptron_train": ("perceptron:_epoch", "perceptron:perceptron_trace"),
    "perceptron_cycle": ("perceptron:_epoch", "perceptron:perceptron_trace"),
    # 02_backprop
    "sigmoid_forward": ("layers:sigmoid", "rnn:_sigmoid"),
    "relu_backward": ("layers:activation_derivative", "playground:_relu_grad"),
    "sigmoid_backward": ("layers:activation_derivative",),
    "tanh_backward": ("layers:activation_derivative",),
    "softmax_cross_entropy": ("losses:_softmax_cross_entropy", "losses:_log_softmax",
                              "losses:softmax"),
    # the kernel's checks (read-only cells run check_layer_gradients there) use the student's
    # own numerical_gradient and rel_error instead (grading.sandbox.STUDENT_VERSIONS)
    "numerical_gradient": ("gradcheck:_centred_differences", "gradcheck:numerical_gradient_array",
                           "gradcheck:check_gradients", "grading.checks:_numerical"),
    "rel_error": ("gradcheck:_compare", "gradcheck:check_gradients",
                  "grading.checks:relative_error"),
    "two_layer_net": ("models:MLP.loss", "models:MLP._backward"),
    "train_two_layer_net": _TRAINING_LOOPS,
    # 03_optimizers
    "sgd_step": ("optim:_sgd", "optim:Optimizer._update", "playground:regularized_update",
                 "playground:_update_rule"),
    "momentum_step": ("optim:_momentum", "optim:Optimizer._update"),
    "nesterov_step": ("optim:_nesterov", "optim:Optimizer._update"),
    "adagrad_step": ("optim:_adagrad", "optim:Optimizer._update"),
    "rmsprop_step": ("optim:_rmsprop", "optim:Optimizer._update"),
    "adam_step": ("optim:_adam", "optim:Optimizer._update"),
    "step_decay": ("schedules:make_schedule",),
    "exponential_decay": ("schedules:make_schedule",),
    "inverse_time_decay": ("schedules:make_schedule",),
    # 04_regularization
    "l2_penalty": ("models:_weight_penalty",),
    "train_regularized": _TRAINING_LOOPS,
    # 05_convnets
    "conv2d_forward": ("conv:conv2d_forward_naive", "conv:_im2col"),
    "conv2d_backward": ("conv:conv2d_backward_naive", "conv:_input_gradient"),
    "maxpool2d_forward": ("conv:maxpool2d_forward_naive", "conv:_pool2x2_forward",
                          "conv:_pool_general_forward"),
    "maxpool2d_backward": ("conv:maxpool2d_backward_naive", "conv:_pool2x2_backward",
                           "conv:_pool_general_backward"),
    "three_layer_convnet": ("models:ConvNet.loss", "models:ConvNet._backward"),
    "train_convnet": _TRAINING_LOOPS,
    # 06_rnns
    "rnn_step_forward": ("models:CharRNN._step",),
    "rnn_forward": ("models:CharRNN._forward", "rnn:rnn_gradient_norms"),
    "rnn_backward": ("rnn:rnn_gradient_norms",),
    "lstm_step_forward": ("rnn:lstm_forward", "models:CharRNN._step"),
    "lstm_step_backward": ("rnn:lstm_backward",),
    "clip_gradients": ("rnn:_global_norm", "rnn:global_norm"),
    "char_rnn_loss": ("models:CharRNN.loss", "models:CharRNN._forward"),
    "train_char_rnn": _TRAINING_LOOPS,
}

# Graded functions that train a model (or a perceptron): while an assignment grades one, the
# sandbox hides the libraries that would train a network or a linear classifier instead.
TRAINING_FUNCTIONS = frozenset({
    "perceptron_predict", "perceptron_update", "perceptron_train", "perceptron_cycle",
    "train_two_layer_net", "train_regularized", "train_convnet", "train_char_rnn"})

# Modules hidden then: scikit-learn's networks and linear models (Perceptron, SGDClassifier,
# LogisticRegression, LinearSVC, LDA), and the deep-learning frameworks.
TRAINING_MODULES = ("sklearn.neural_network", "sklearn.linear_model", "sklearn.svm",
                    "sklearn.discriminant_analysis", "torch", "functorch", "tensorflow",
                    "keras", "jax")


def shortcuts_for(graded) -> dict[str, set[str]]:
    """{module: {qualified names}} of everything to switch off for these graded functions."""
    found: dict[str, set[str]] = {}
    for name in graded:
        for entry in SHORTCUTS.get(name, ()):
            module, qualname = entry.split(":")
            found.setdefault(module, set()).add(qualname)
    return found
