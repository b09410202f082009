"""nnutils: the shared library of the neural-networks course.

Every graded function of the course contract (``nnutils.contract``) is importable from here, as
are the helpers the lectures use most. One module per concept; see nnutils/README.md.
"""

from .augment import elastic_distort, random_shift
from .gradcheck import check_gradients, numerical_gradient, rel_error
from .initializers import he_normal, xavier_uniform
from .layers import (
                     affine_backward,
                     affine_forward,
                     relu_backward,
                     relu_forward,
                     sigmoid_backward,
                     sigmoid_forward,
                     tanh_backward,
                     tanh_forward,
)
from .losses import sigmoid_binary_cross_entropy, softmax, softmax_cross_entropy, squared_loss
from .networks import two_layer_net
from .optim import (
                     Optimizer,
                     adagrad_step,
                     adam_step,
                     momentum_step,
                     nesterov_step,
                     rmsprop_step,
                     sgd_step,
)
from .perceptron import (
                     perceptron_cycle,
                     perceptron_predict,
                     perceptron_train,
                     perceptron_update,
                     xor_network,
)
from .regularization import dropout_backward, dropout_forward, early_stopping, l2_penalty
from .schedules import exponential_decay, inverse_time_decay, step_decay

__version__ = "0.1.0"
