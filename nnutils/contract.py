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
