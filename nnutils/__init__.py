"""nnutils: the shared library of the neural-networks course.

Every graded function of the course contract (``nnutils.contract``) is importable from here, as
are the models, the training loop and the helpers the lectures use most. One module per concept;
see nnutils/README.md. Importing nnutils loads only NumPy: matplotlib, scikit-learn and torch
are imported by the functions that need them.
"""

from .augment import elastic_distort, random_shift
from .conv import (conv2d_backward, conv2d_backward_naive, conv2d_forward, conv2d_forward_naive,
                   conv_output_shape, maxpool2d_backward, maxpool2d_forward)
from .gradcheck import check_gradients, numerical_gradient, rel_error
from .initializers import he_normal, xavier_uniform
from .layers import (affine_backward, affine_forward, relu_backward, relu_forward,
                     sigmoid_backward, sigmoid_forward, tanh_backward, tanh_forward)
from .losses import sigmoid_binary_cross_entropy, softmax, softmax_cross_entropy, squared_loss
from .models import MLP, CharRNN, ConvNet
from .networks import char_rnn_loss, three_layer_convnet, two_layer_net
from .optim import (Optimizer, adagrad_step, adam_step, momentum_step, nesterov_step,
                    rmsprop_step, sgd_step)
from .perceptron import (perceptron_cycle, perceptron_predict, perceptron_train,
                         perceptron_update, xor_network)
from .regularization import dropout_backward, dropout_forward, early_stopping, l2_penalty
from .rnn import (clip_gradients, global_norm, lstm_backward, lstm_forward, lstm_step_backward,
                  lstm_step_forward, rnn_backward, rnn_forward, rnn_step_backward,
                  rnn_step_forward)
from .schedules import exponential_decay, inverse_time_decay, step_decay
from .train import History, train

__version__ = "0.1.0"
