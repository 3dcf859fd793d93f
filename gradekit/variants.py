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
                "        classes.append(1 if logistic_regression(x, a, b) > 0.5 else 0)\n"
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
]

_S_CHECKS = ("test_s_at_zero", "test_s_properties", "test_s_values")
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
    "test_train_example",
)

# A sigmoid without its "1 +", shared by the variants that hand it in beside other damage;
# the visible checks of logistic_regression and of the loss run it too.
_SIGMOID_NO_ONE = {"s": "def s(x):\n    return 1 / np.exp(-x)"}
_SIGMOID_NO_ONE_FAILS = _fails(
    *_S_CHECKS, "test_logistic_regression_boundary", "test_log_likelihood_coin_flip"
)

_FORWARD_NO_B1 = "def forward(self, inputs):\n    return np.matmul(np.matmul(inputs, self.W1), self.W2) + self.b2"
_FORWARD_NO_B1_FAILS = _fails("test_forward_example", "test_forward_values", "test_train_example")

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
        _fails("test_s_properties", "test_s_values", "test_predict_samples_lecture"),
    ),
    Variant(
        "sigmoid-math-exp",
        "math.exp: right on numbers, fails on arrays",
        {"s": "def s(x):\n    import math\n    return 1 / (1 + math.exp(-x))"},
        _fails("test_s_properties", "test_s_values", "test_log_likelihood_coin_flip"),
    ),
    Variant(
        "sigmoid-no-one",
        "s(x) = 1 / exp(-x): the 1 + is missing",
        _SIGMOID_NO_ONE,
        _SIGMOID_NO_ONE_FAILS,
    ),
    Variant(
        "sigmoid-hard-coded",
        "s returns 0.5, the one value the visible check asks for",
        {"s": "def s(x):\n    return 0.5"},
        _fails("test_s_properties", "test_s_values", "test_predict_samples_lecture"),
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
    ),
    Variant(
        "l-math-log",
        "math.log: right on numbers, fails on arrays",
        {"l": "def l(x):\n    import math\n    return math.log(x)"},
        _fails("test_l_l2_values"),
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
        _fails(
            "test_logistic_regression_boundary",
            "test_logistic_regression_values",
            "test_predict_samples_lecture",
        ),
    ),
    Variant(
        "logreg-no-sigmoid",
        "p(x) = a x + b: the logit, not a probability",
        {"logistic_regression": "def logistic_regression(x, a, b):\n    return a * x + b"},
        _fails(
            "test_logistic_regression_boundary",
            "test_logistic_regression_values",
            "test_predict_samples_lecture",
            "test_log_likelihood_coin_flip",
        ),
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
        _fails("test_predict_samples_values"),
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
        _fails(
            "test_forward_example",
            "test_forward_values",
            "test_mse_loss_example",
            "test_train_example",
        ),
    ),
    Variant(
        "mse-sum",
        "MSE_loss sums instead of averaging",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    self.loss = np.sum((self.forward(inputs) - outputs) ** 2)\n"
            "    return self.loss"
        },
        _fails("test_mse_loss_example", "test_mse_loss_values", "test_train_example"),
    ),
    Variant(
        "mse-not-stored",
        "MSE_loss returns the loss but does not store it",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    return np.mean((self.forward(inputs) - outputs) ** 2)"
        },
        _fails("test_mse_loss_example", "test_mse_loss_values", "test_train_example"),
    ),
    Variant(
        "mse-hard-coded",
        "MSE_loss stores and returns the lecture's first loss",
        {
            "ShallowNeuralNet.MSE_loss": "def MSE_loss(self, inputs, outputs):\n"
            "    self.loss = 13.1869714693353\n"
            "    return self.loss"
        },
        _fails("test_mse_loss_example", "test_mse_loss_values", "test_train_example"),
    ),
    Variant(
        "backward-no-2-over-m",
        "gradients without their 2/m",
        {"ShallowNeuralNet.backward": _BACKWARD.replace("(2 / m) * ", "")},
        _fails(*_STEP_CHECKS),
    ),
    Variant(
        "backward-ascent",
        "+= alpha * gradient: climbs the loss",
        {"ShallowNeuralNet.backward": _BACKWARD.replace(" - alpha * ", " + alpha * ")},
        _fails(*_STEP_CHECKS),
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
    ),
    Variant(
        "backward-stale-loss",
        "backward does not refresh self.loss",
        {
            "ShallowNeuralNet.backward": _BACKWARD.replace(
                "    self.MSE_loss(inputs, outputs)\n", ""
            )
        },
        _fails("test_backward_refreshes_loss", "test_train_example"),
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
            "test_backward_gradient",
            "test_backward_refreshes_loss",
            "test_backward_lecture_steps",
            "test_train_example",
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
        _fails(
            "test_train_example",
            "test_train_decreases",
            "test_train_early_stopping",
            "test_train_follows_arguments",
        ),
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
        _fails("test_s_properties", "test_s_values", "test_predict_samples_lecture"),
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
        _fails(
            "test_forward_example", "test_forward_values", "test_mse_loss_example", "test_train_example"
        ),
    ),
    Variant(
        "tamper-custom-exc",
        "an s that returns 0, then every exception swallowed by a custom handler (no effect:"
        " only s's checks and the visible ones that run it fail)",
        {
            "s": "def s(x):\n    return 0\n\n\n"
            "get_ipython().set_custom_exc((Exception,), lambda *args, **kwargs: None)"
        },
        _fails(
            *_S_CHECKS,
            "test_logistic_regression_boundary",
            "test_predict_samples_lecture",
            "test_log_likelihood_coin_flip",
        ),
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
        _fails(
            "test_forward_example",
            "test_forward_values",
            "test_mse_loss_example",
            "test_backward_example",
            "test_train_example",
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
        fails=_SIGMOID_NO_ONE_FAILS,
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
        _SIGMOID_NO_ONE_FAILS,
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
        _SIGMOID_NO_ONE_FAILS | _FORWARD_NO_B1_FAILS,
    ),
    Variant(
        "extra-files",
        "a wrong s, extra files, and a checks.py of its own that passes everything",
        _SIGMOID_NO_ONE,
        damage=_extra_files,
        fails=_SIGMOID_NO_ONE_FAILS,
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

# An s that raises: its own checks fail, and the visible checks that run s.
_S_BROKEN_FAILS = _fails(
    *_S_CHECKS,
    "test_logistic_regression_boundary",
    "test_predict_samples_lecture",
    "test_log_likelihood_coin_flip",
)

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
        _S_BROKEN_FAILS,
    ),
    Variant(
        "copies-classmate",
        "s runs a classmate's s from submitted/ (the sandbox hides it)",
        {
            "s": _FIND_COURSE + "\n\ndef s(x):\n    import glob\n\n"
            '    paths = glob.glob(find_course() + "/submitted/model/w1s3/part1*.ipynb")\n'
            '    return run_cell_defining(paths[0], "s")(x)'
        },
        _S_BROKEN_FAILS,
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
        _S_BROKEN_FAILS,
        # the test's service writes port.txt into this student's folder
    ),
    Variant(
        "fork-loop",
        "forks processes in a loop after defining s (stopped by the process limit)",
        {
            "s": "def s(x):\n    return 1 / (1 + np.exp(-x))\n\n\nimport os\nimport time\n\n"
            "for i in range(5000):\n    if os.fork() == 0:\n        time.sleep(1)\n"
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
        _SIGMOID_NO_ONE_FAILS,
    ),
]

VARIANTS = {variant.name: variant for variant in CORRECT + BUGGY + HOSTILE + INTRUDERS}
