"""The two Keras worked examples of docs/keras.md, offline: writes docs/img/keras-*.png.

1. An MNIST-style CNN (conv-pool-conv-pool-conv-pool-dense-dense, as in the Keras tutorials)
   trained for a few seconds on scikit-learn's bundled digits (8×8 upsampled to 28×28), with
   the Grad-CAM of every conv layer side by side and their fusion, for classes 1, 7 and 9.
2. VGG16's architecture (``keras.applications.VGG16(weights=None)``: random weights, nothing is
   downloaded) explained at ``block5_conv3`` on scikit-image's cat photo.

    nice python scripts/keras_examples.py [--out docs/img] [--epochs 15]
    nice python scripts/keras_examples.py --bench   # VGG16 Grad-CAM: camlens vs the tutorial

Needs ``camlens[keras,demo]`` (TensorFlow, Keras, scikit-learn, scikit-image) and matplotlib.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf

import camlens
from camlens.viz import save_grid

ROOT = Path(__file__).resolve().parents[1]
CLASSES = (1, 7, 9)


def digits(size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8×8 digits as ``(N, size, size, 1)`` float32 in [0, 1], labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = data.images.astype(np.float32)[..., None] / 16.0
    return tf.image.resize(images, (size, size)).numpy(), data.target.astype(np.int64)


def mnist_cnn(size: int = 28) -> keras.Model:
    """The tutorials' MNIST CNN: three conv+pool blocks, a hidden dense layer, softmax."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((size, size, 1)),
            layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
            layers.MaxPooling2D(2, name="pool1"),
            layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool2"),
            layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3"),
            layers.MaxPooling2D(2, name="pool3"),
            layers.Flatten(name="flatten"),
            layers.Dense(64, activation="relu", name="dense"),
            layers.Dense(10, activation="softmax", name="predictions"),
        ],
        name="mnist_cnn",
    )


def digits_example(out: Path, epochs: int) -> None:
    images, labels = digits()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(images))
    test, train = order[:300], order[300:]
    keras.utils.set_random_seed(0)
    model = mnist_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(images[train], labels[train], epochs=epochs, batch_size=64, verbose=0)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(images[test], labels[test], verbose=0)
    print(f"digits CNN: trained {epochs} epochs in {seconds:.1f} s, test accuracy {accuracy:.3f}")

    picks = [int(test[labels[test] == c][0]) for c in CLASSES]
    x = images[picks]  # (3, 28, 28, 1): one test image of each class
    conv_layers = ["conv1", "conv2", "conv3"]
    start = time.perf_counter()
    with camlens.GradCAM(model, target_layers=conv_layers) as cam:
        explanation = cam.explain(x, targets=list(CLASSES))
    print(f"Grad-CAM of 3 layers for 3 images: {time.perf_counter() - start:.2f} s")
    probabilities = model(x, training=False).numpy()
    maps = [
        [explanation.per_layer[n][i] for n in conv_layers] + [explanation.maps[i]]
        for i in range(len(CLASSES))
    ]
    rgb = [np.repeat(image, 3, axis=-1) for image in x]
    path = save_grid(
        rgb,
        maps,
        out / "keras-digits-layers.png",
        row_labels=[f"class {c} (p={probabilities[i, c]:.2f})" for i, c in enumerate(CLASSES)],
        col_labels=["conv1 (28×28)", "conv2 (14×14)", "conv3 (7×7)", "all three"],
        alpha=0.45,
        cell_size=2.0,
    )
    print(f"wrote {path}")


def vgg16_example(out: Path) -> None:
    from skimage.data import chelsea

    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    model = keras.applications.VGG16(weights=None)  # ImageNet head, softmax, random weights
    print(f"VGG16(weights=None) built in {time.perf_counter() - start:.1f} s")
    photo = tf.image.resize(chelsea()[None].astype(np.float32), (224, 224)).numpy()
    x = keras.applications.vgg16.preprocess_input(photo.copy())
    rows = []
    for method in (camlens.GradCAM, camlens.GradCAMPlusPlus, camlens.EigenCAM):
        start = time.perf_counter()
        explanation = method(model, "block5_conv3").explain(x)
        seconds = time.perf_counter() - start
        rows.append((method.__name__, explanation.maps[0], seconds, explanation.targets[0]))
        print(f"VGG16 {method.__name__} at block5_conv3: {seconds:.2f} s")
    path = save_grid(
        [photo[0] / 255.0],
        [[m for _, m, _, _ in rows]],
        out / "keras-vgg16.png",
        col_labels=[name for name, _, _, _ in rows],
        cell_labels=[[f"top-1 class {t.category}" for _, _, _, t in rows]],
        image_label="VGG16, random weights",
        cell_size=2.6,
    )
    print(f"wrote {path}")


def vgg16_bench(rounds: int = 5) -> None:
    """camlens' Grad-CAM against the Keras tutorial's recipe (a model returning the layer's
    output, a GradientTape, the head's logits by hand), interleaved rounds, one image."""
    keras.utils.set_random_seed(0)
    model = keras.applications.VGG16(weights=None)
    x = np.random.default_rng(0).random((1, 224, 224, 3), dtype=np.float32) * 255 - 120
    head = model.get_layer("predictions")
    grad_model = keras.Model(model.inputs[0], [model.get_layer("block5_conv3").output, head.input])

    def tutorial() -> np.ndarray:
        with tf.GradientTape() as tape:
            activations, features = grad_model(x)
            logits = tf.matmul(features, head.kernel) + head.bias
            score = logits[:, int(tf.argmax(logits[0]))]
        weights = tf.reduce_mean(tape.gradient(score, activations), axis=(1, 2))
        return tf.nn.relu(tf.reduce_sum(activations * weights[:, None, None, :], -1)).numpy()

    cam = camlens.GradCAM(model, "block5_conv3")
    times: dict[str, list[float]] = {"Keras tutorial recipe": [], "camlens.GradCAM": []}
    runs = {"Keras tutorial recipe": tutorial, "camlens.GradCAM": lambda: cam(x)}
    for run in runs.values():
        run()  # warm-up
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    for name, values in times.items():
        print(f"{name}: median {np.median(values):.2f} s over {rounds} rounds")
    ours = cam.explain(x).raw["block5_conv3"][0].numpy()
    theirs = tutorial()[0]
    ours, theirs = (m / m.max() for m in (ours, theirs))
    difference = float(np.abs(ours - theirs).max())
    print(f"raw 14×14 maps, each divided by its max: max difference {difference:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--bench", action="store_true", help="only time VGG16 Grad-CAM")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(2)
    if args.bench:
        vgg16_bench()
        return
    digits_example(args.out, args.epochs)
    vgg16_example(args.out)


if __name__ == "__main__":
    main()
