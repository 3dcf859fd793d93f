"""Reference computations for the hidden checks of the W1-S3 assignment (instructors only).

The hidden checks import this module at grading time, in the grading process; it is never
released to students (`c.CourseDirectory.ignore` in nbgrader_config.py) and never visible to
a grading kernel. It follows the lecture's formulas, written independently of the model
solutions. The functions that take a `net` read and write its `W1`, `b1`, `W2`, `b2` and
`loss`: at grading time they are also lent to a student's network (see
`gradekit.judge.isolated`), so that a check of `train` runs with a known-good `backward`.
"""

from types import SimpleNamespace

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
    return weighted_log_likelihood_loss(a, b, x, y)


def weighted_log_likelihood_loss(a, b, x, w):
    """-(1/N) sum[w ln p(x) + (1 - w) ln(1 - p(x))]: the loss for w = y, the slides' typo
    for w = x (what a loss written from the slides computes)."""
    p = logistic_regression(x, a, b)
    w = np.asarray(w, dtype=float)
    return float(-np.mean(w * np.log(p) + (1 - w) * np.log(1 - p)))


def chest_sizes(rng, n):
    """A chest-size dataset of n samples drawn from rng: sizes in [94, 114], class 1 from 104."""
    x = np.round(rng.uniform(94, 114, size=n), 2)
    return x, (x >= 104).astype(int)


def apartments(rng, n):
    """An apartment-price dataset of n samples drawn from rng, as the lecture builds it."""
    surface = np.round(rng.uniform(40, 200, size=n), 2)
    distance = np.round(rng.uniform(50, 1000, size=n), 2)
    average = 100000 + 14373 * surface + (1000 - distance) * 1286
    price = np.round(average * (1 + rng.uniform(-0.1, 0.1, size=n))) / 1000000
    return np.stack([surface, distance], axis=1), price.reshape(n, 1)


def draw_parameters(random_state, n_x, n_h, n_y):
    """W1, b1, W2, b2 drawn as the lecture's __init__ does, from a np.random.RandomState
    (the generator behind np.random.seed)."""
    return {
        "W1": random_state.randn(n_x, n_h) * 0.1,
        "b1": random_state.randn(1, n_h) * 0.1,
        "W2": random_state.randn(n_h, n_y) * 0.1,
        "b2": random_state.randn(1, n_y) * 0.1,
    }


def random_problem(rng, n_x, n_h, n_y, m):
    """Parameters of a random network and a random dataset of m samples."""
    params = {
        "W1": rng.normal(size=(n_x, n_h)),
        "b1": rng.normal(size=(1, n_h)),
        "W2": rng.normal(size=(n_h, n_y)),
        "b2": rng.normal(size=(1, n_y)),
    }
    return params, rng.normal(size=(m, n_x)), rng.normal(size=(m, n_y))


def network(params):
    """A plain network holding these parameters and an infinite loss."""
    return SimpleNamespace(**{name: np.array(value, dtype=float) for name, value in params.items()},
                           loss=float("inf"))  # fmt: skip


def forward(net, inputs):
    """(X W1 + b1) W2 + b2 with the net's current parameters."""
    return (np.asarray(inputs) @ net.W1 + net.b1) @ net.W2 + net.b2


def mse(net, inputs, outputs):
    """Mean squared error of the net on (inputs, outputs); does not touch net.loss."""
    errors = forward(net, inputs) - np.asarray(outputs).reshape(len(outputs), -1)
    return float(np.sum(errors**2) / len(outputs))


def MSE_loss(net, inputs, outputs):  # noqa: N802 - the lecture's method name
    """The mean squared error, stored in net.loss."""
    net.loss = mse(net, inputs, outputs)
    return net.loss


def gradients(net, inputs, outputs):
    """Exact gradients of mse with respect to W1, b1, W2, b2."""
    inputs, outputs = np.asarray(inputs, dtype=float), np.asarray(outputs, dtype=float)
    W1, b1, W2, b2 = (np.asarray(getattr(net, name)) for name in ("W1", "b1", "W2", "b2"))
    m = inputs.shape[0]
    hidden = inputs @ W1 + b1
    epsilon = hidden @ W2 + b2 - outputs.reshape(m, -1)
    d_hidden = epsilon @ W2.T
    return {
        "W1": (2 / m) * inputs.T @ d_hidden,
        "b1": (2 / m) * d_hidden.sum(axis=0, keepdims=True),
        "W2": (2 / m) * hidden.T @ epsilon,
        "b2": (2 / m) * epsilon.sum(axis=0, keepdims=True),
    }


def gradient_of_W1_after_W2(params, inputs, outputs, alpha):
    """The gradient of W1 through W2 already updated: what a backward gets that updates W2
    before computing dL/dZ1 = epsilon W2^T."""
    net, inputs = network(params), np.asarray(inputs, dtype=float)
    epsilon = forward(net, inputs) - np.asarray(outputs, dtype=float).reshape(len(inputs), -1)
    updated = net.W2 - alpha * gradients(net, inputs, outputs)["W2"]
    return (2 / len(inputs)) * inputs.T @ (epsilon @ updated.T)


def backward(net, inputs, outputs, alpha=1e-5):
    """One gradient-descent step on the net, then net.loss refreshed."""
    grads = gradients(net, inputs, outputs)
    for name, grad in grads.items():
        setattr(net, name, np.asarray(getattr(net, name)) - alpha * grad)
    MSE_loss(net, inputs, outputs)


def train_losses(net, inputs, outputs, N_max, alpha, delta):
    """The losses the lecture's trainer records, starting from net.loss (mutates net)."""
    losses = [net.loss]
    for _ in range(N_max):
        backward(net, inputs, outputs, alpha)
        losses.append(net.loss)
        if abs(losses[-1] - losses[-2]) < delta:
            break
    return losses


def stopping_steps(losses, N_max, delta):
    """After how many steps a trainer stops: by the lecture's rule (key None), and by each
    common mistake (a set of step counts each: a mistake may have two forms).
    `losses`: those the lecture's trainer records in N_max + 1 steps with delta = 0."""
    change = [b - a for a, b in zip(losses, losses[1:])]

    def first(stops, limit=N_max):
        return next((t for t in range(1, limit + 1) if stops(change[t - 1])), limit)

    lecture = first(lambda c: abs(c) < delta)
    early = lecture < N_max
    return {
        None: {lecture},
        "no early stopping": {N_max},
        "early stopping one step late": {lecture + 1 if early else lecture},
        "early stopping one step early": {lecture - 1 if early else lecture},
        "one step too many (the loop runs N_max + 1 times)": {lecture if early else N_max + 1},
        "the comparison with delta inverted": {
            first(lambda c: abs(c) > delta),
            first(lambda c: abs(c) >= delta),
        },
        "the loss change compared without abs (a drop is negative)": {first(lambda c: c < delta)},
        "a change equal to delta taken as below it (<= for <)": {first(lambda c: abs(c) <= delta)},
    }


def stopping_mistake(losses, N_max, deltas, observed):
    """The one common mistake that stops a trainer after the observed numbers of steps with
    each delta, or "" when none does or several do."""
    rules = [stopping_steps(losses, N_max, delta) for delta in deltas]
    fits = {
        name
        for name in rules[0]
        if name is not None and all(steps in rule[name] for steps, rule in zip(observed, rules))
    }
    return fits.pop() if len(fits) == 1 else ""


def finite_difference_gradients(params, inputs, outputs, h=1e-6):
    """Gradients of mse by central differences, one parameter entry at a time."""
    net = network(params)
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


PARAMETERS = ("W1", "b1", "W2", "b2")


def parameters(net):
    """The four parameters of any network (a student's, read by value, or a plain one)."""
    return {name: np.asarray(getattr(net, name), dtype=float) for name in PARAMETERS}


def trained_losses(params, inputs, outputs, N_max, alpha, delta):
    """The losses the lecture's trainer records from a network with these parameters, its
    loss computed first."""
    net = network(params)
    MSE_loss(net, inputs, outputs)
    return train_losses(net, inputs, outputs, N_max, alpha, delta)


def lent_methods(*names):
    """These methods, to lend to the student's ShallowNeuralNet while one of its other
    methods is checked (see gradekit.judge.isolated)."""
    methods = {"forward": forward, "MSE_loss": MSE_loss, "backward": backward}
    return {f"ShallowNeuralNet.{name}": methods[name] for name in names}
