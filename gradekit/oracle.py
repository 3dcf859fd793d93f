"""Trusted reference computations for the hidden checks of the W1-S3 assignment.

Hidden check cells import this module at grading time (it is installed with the kit,
never shipped to students) and compare a student's answer with these functions.
They follow the lecture's formulas, written independently of the model solutions.
"""

from types import MethodType

import numpy as np


def sigmoid(x):
    """s(x) = 1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def l(x):
    """l(x) = ln(x)."""
    return np.log(np.asarray(x, dtype=float))


def l2(x):
    """l2(x) = ln(1 - x)."""
    return np.log(1.0 - np.asarray(x, dtype=float))


def logistic_regression(x, a, b):
    """p(x) = s(a x + b)."""
    return sigmoid(a * np.asarray(x, dtype=float) + b)


def predict_samples(inputs, a, b):
    """Class 1 where p(x) >= 0.5, else 0."""
    return (logistic_regression(inputs, a, b) >= 0.5).astype(int)


def log_likelihood_loss(a, b, x, y):
    """-(1/N) sum[y ln p(x) + (1 - y) ln(1 - p(x))] (y, not x, in front of the logs)."""
    p = logistic_regression(x, a, b)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def draw_parameters(n_x, n_h, n_y):
    """W1, b1, W2, b2 drawn from the global RNG in the lecture's order."""
    return {
        "W1": np.random.randn(n_x, n_h) * 0.1,
        "b1": np.random.randn(1, n_h) * 0.1,
        "W2": np.random.randn(n_h, n_y) * 0.1,
        "b2": np.random.randn(1, n_y) * 0.1,
    }


def forward(net, inputs):
    """(X W1 + b1) W2 + b2 with the net's current parameters."""
    return (np.asarray(inputs) @ net.W1 + net.b1) @ net.W2 + net.b2


def mse(net, inputs, outputs):
    """Mean squared error of the net on (inputs, outputs); does not touch net.loss."""
    errors = forward(net, inputs) - np.asarray(outputs).reshape(-1, 1)
    return float(np.sum(errors**2) / len(outputs))


def gradients(net, inputs, outputs):
    """Exact gradients of mse with respect to W1, b1, W2, b2."""
    m = inputs.shape[0]
    hidden = inputs @ net.W1 + net.b1
    epsilon = hidden @ net.W2 + net.b2 - outputs
    d_hidden = epsilon @ net.W2.T
    return {
        "W1": (2 / m) * inputs.T @ d_hidden,
        "b1": (2 / m) * d_hidden.sum(axis=0, keepdims=True),
        "W2": (2 / m) * hidden.T @ epsilon,
        "b2": (2 / m) * epsilon.sum(axis=0, keepdims=True),
    }


def backward(net, inputs, outputs, alpha=1e-5):
    """One gradient-descent step on the net, then refresh net.loss."""
    grads = gradients(net, inputs, outputs)
    for name, grad in grads.items():
        setattr(net, name, getattr(net, name) - alpha * grad)
    net.loss = mse(net, inputs, outputs)
    return net.loss


def train_losses(net, inputs, outputs, N_max, alpha, delta):
    """The losses the lecture's trainer records, starting from net.loss (mutates net)."""
    losses = [net.loss]
    for _ in range(N_max):
        losses.append(backward(net, inputs, outputs, alpha))
        if abs(losses[-1] - losses[-2]) < delta:
            break
    return losses


def use_reference_methods(net, *names):
    """Bind reference versions of the named methods to this one instance.

    A check for one method then does not depend on the student's other methods.
    """
    reference = {
        "forward": forward,
        "MSE_loss": lambda self, inputs, outputs: _store_loss(self, mse(self, inputs, outputs)),
        "backward": backward,
    }
    for name in names:
        setattr(net, name, MethodType(reference[name], net))
    return net


def _store_loss(net, loss):
    net.loss = loss
    return loss


def random_problem(rng, n_x, n_h, n_y, m):
    """Parameters of a random network and a random dataset of m samples, for hidden checks."""
    params = {
        "W1": rng.normal(size=(n_x, n_h)),
        "b1": rng.normal(size=(1, n_h)),
        "W2": rng.normal(size=(n_h, n_y)),
        "b2": rng.normal(size=(1, n_y)),
    }
    return params, rng.normal(size=(m, n_x)), rng.normal(size=(m, n_y))


def finite_difference_gradients(net, inputs, outputs, h=1e-6):
    """Gradients of mse by central differences, one parameter entry at a time."""
    grads = {}
    for name in ("W1", "b1", "W2", "b2"):
        param = getattr(net, name)
        grad = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            saved = param[index]
            param[index] = saved + h
            up = mse(net, inputs, outputs)
            param[index] = saved - h
            down = mse(net, inputs, outputs)
            param[index] = saved
            grad[index] = (up - down) / (2 * h)
        grads[name] = grad
    return grads
