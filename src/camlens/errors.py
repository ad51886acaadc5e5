"""Every error and warning camlens raises on purpose, and the one table of what each kind means.

Each error class has a ``category`` (:data:`CATEGORIES`): the CLI's exit code and the server's HTTP
status are looked up from it (:func:`exit_code`, :func:`http_status`), never from ``isinstance``
chains, and ``docs/cli.md``'s exit-code table is this table (a test checks it). ``code`` is the
stable string the server answers in ``{"error": code, "detail": message}``.

A leaf module: it imports nothing from camlens (nor torch, click or Keras), so every layer may
import it. The old paths (``camlens.core.errors``, ``camlens.loading``, ``camlens.pretrained``,
``camlens.serve.errors``, ``camlens.audit.errors``, ...) re-export these same classes.

Add an error here, as a subclass of the closest existing class; give it a ``category`` only when
its kind differs from its parent's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """A kind of failure: the CLI's exit code and the server's HTTP status for it.

    ``exit_code`` is ``None`` for kinds only the server has (a full queue); ``http_status`` is
    ``None`` for kinds only the CLI has (Ctrl-C).

    Example:
        >>> from camlens.errors import InvalidInputError, category_of
        >>> category = category_of(InvalidInputError("not an image"))
        >>> category.name, category.exit_code, category.http_status
        ('input', 3, 422)
    """

    name: str
    exit_code: int | None
    http_status: int | None
    meaning: str


#: category name -> exit code -> HTTP status -> meaning. The one source of both.
CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category("success", 0, 200, "success"),
        Category(
            "internal",
            1,
            500,
            "runtime failure: the model failed to run, out of memory, an unexpected error",
        ),
        Category(
            "model",
            1,
            422,
            "the method cannot explain this model (a PyTorch-only method on a Keras model)",
        ),
        Category(
            "usage",
            2,
            422,
            "usage error: unknown option or command, unknown method, layer, model name, class "
            "(or class index out of range), bad device name, bad option value, a layer without a "
            "spatial output or that the score does not depend on, a RUN_DIR that holds another run",
        ),
        Category(
            "input",
            3,
            422,
            "bad input: an image that is missing, not an image (a text file named `.jpg`) or "
            "truncated; a labels file that does not match the model; a DATA or `--data` that is "
            "no image folder, manifest or benchmark",
        ),
        Category(
            "too_large",
            3,
            413,
            "bad input: an image with more pixels than the limit (40 million in the CLI)",
        ),
        Category(
            "unavailable",
            4,
            500,
            "unavailable: weights or data not on this machine, a weights file that does not fit "
            "or fails its checksum, a TorchScript model, a device this machine does not have, an "
            "optional package that is not installed",
        ),
        Category("request", None, 400, "malformed request (no image part, options not JSON)"),
        Category(
            "media_type",
            None,
            415,
            "not multipart/form-data, or an image part not declared as an image",
        ),
        Category("busy", None, 503, "the server's queue is full: retry after Retry-After"),
        Category("timeout", None, 503, "the request took longer than the timeout (job stopped)"),
        Category("interrupted", 130, None, "interrupted (Ctrl-C)"),
    )
}


def category_of(exc: BaseException) -> Category:
    """The :class:`Category` of an exception: its class's ``category``; Ctrl-C is
    ``interrupted``; any other exception ``internal``."""
    name = getattr(exc, "category", None)
    if isinstance(name, str) and name in CATEGORIES:
        return CATEGORIES[name]
    if isinstance(exc, KeyboardInterrupt):
        return CATEGORIES["interrupted"]
    return CATEGORIES["internal"]


def exit_code(exc: BaseException) -> int:
    """The CLI's exit code for ``exc`` (1 for a category the CLI does not have)."""
    code = category_of(exc).exit_code
    return 1 if code is None else code


def http_status(exc: BaseException) -> int:
    """The server's HTTP status for ``exc``: its own ``status`` when it has one (a
    :class:`ServeError`), else its category's (500 for a category the server does not have)."""
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status
    found = category_of(exc).http_status
    return 500 if found is None else found


# --- the base -------------------------------------------------------------------------------------
class CamlensError(Exception):
    """Base class of every error camlens raises on purpose."""

    category = "model"
    code = "explain_failed"


# --- usage: a name or option that does not fit ---------------------------------------------------
class LayerNotFoundError(CamlensError, LookupError):
    """A target layer name or module that is not part of the model."""

    category = "usage"
    code = "invalid_layer"


class LayerNotReachedError(CamlensError, RuntimeError):
    """A target layer that the forward pass never ran, or that the score does not depend on."""

    category = "usage"
    code = "invalid_layer"


class LayerOutputError(CamlensError, TypeError):
    """A target layer whose output is not a tensor, or that ran more than once in one forward."""

    category = "usage"
    code = "invalid_layer"


class AttentionNotFoundError(CamlensError, LookupError):
    """An attention method (rollout, Chefer, LeGrad) on a model, or a layer, with no attention."""

    category = "usage"
    code = "no_attention"


class NotForwardedError(CamlensError, AssertionError):
    """A torchcam-style extractor called before any forward pass of the hooked model (torchcam
    raises an ``AssertionError`` here too)."""

    category = "usage"
    code = "not_forwarded"


class ConcurrentUseError(CamlensError, RuntimeError):
    """Two threads use one model in a way camlens cannot make safe (see docs/guide.md)."""

    category = "usage"
    code = "concurrent_use"


class TrainingModeError(CamlensError, RuntimeError):
    """A model that cannot run in training mode inside camlens (a Flax model that updates its
    batch statistics or draws dropout): explain it in eval mode."""

    category = "usage"
    code = "training_mode"


class TargetError(CamlensError, ValueError):
    """A target that does not fit the model output or the batch."""

    category = "usage"
    code = "invalid_target"


class NotADualEncoderError(TargetError):
    """A text prompt given for a model that has no text encoder (not a CLIP-style model)."""

    code = "not_a_dual_encoder"


class RunDirError(CamlensError, RuntimeError):
    """RUN_DIR holds another run (other model, data or options) or no run at all."""

    category = "usage"


class OptionError(CamlensError, ValueError):
    """An option of a method, metric or tool that has no meaning (a batch size of 0, an unknown
    mode, a probability above 1)."""

    category = "usage"
    code = "invalid_option"


class ServeConfigError(CamlensError, ValueError):
    """A limit or option of ``camlens serve`` that cannot work (zero workers, negative size...)."""

    category = "usage"


# --- input: a file, tensor or data set that cannot be used ---------------------------------------
class InvalidInputError(CamlensError, ValueError):
    """An input tensor of the wrong type, rank or dtype, or holding NaN/inf."""

    category = "input"
    code = "invalid_input"


class MaskError(InvalidInputError):
    """An annotation mask of the wrong shape, dtype or values for the images it annotates."""

    code = "invalid_mask"


class InvalidImageError(InvalidInputError):
    """A file that is not a readable image: missing, not an image, truncated, or too many pixels."""

    code = "invalid_image"


class ImageTooLargeError(InvalidImageError):
    """An image with more pixels than the limit (checked from the header, before decoding)."""

    category = "too_large"
    code = "image_too_large"


class DataSourceError(InvalidInputError):
    """DATA is not an image folder tree, a CSV/Parquet manifest or a benchmark spec."""


class VizInputError(InvalidInputError):
    """An image, map, colormap or alpha that ``camlens.viz`` cannot draw."""


# --- unavailable: not on this machine ------------------------------------------------------------
class ModelLoadError(CamlensError, RuntimeError):
    """A model that cannot be loaded: unknown name, weights not available offline, bad file."""

    category = "unavailable"
    code = "unavailable"


class UnknownModelError(ModelLoadError, LookupError):
    """A model name that is neither a file, a zoo name, a torchvision nor a timm model."""

    category = "usage"
    code = "unknown_model"


class WeightsUnavailableError(ModelLoadError, FileNotFoundError):
    """Weights that are not on this machine (nothing is downloaded): names the file to provide."""


class DeviceError(CamlensError, RuntimeError):
    """A device name that is unknown or not available on this machine."""

    category = "unavailable"
    code = "unavailable"


class WeightsNotFoundError(CamlensError, FileNotFoundError):
    """The pretrained checkpoint is neither given nor in torch's hub cache (or not obtainable)."""

    category = "unavailable"
    code = "unavailable"


class WeightsChecksumError(CamlensError, ValueError):
    """A local checkpoint whose SHA-256 is not the expected one (corrupt or another file)."""

    category = "unavailable"
    code = "unavailable"


class MissingDependencyError(CamlensError, ImportError):
    """An optional dependency that this feature needs is not installed; the message names the
    extra that installs it (``pip install 'camlens[EXTRA]'``). ``extra`` holds its name."""

    category = "unavailable"
    code = "unavailable"

    def __init__(self, message: str, *, extra: str | None = None, name: str | None = None) -> None:
        super().__init__(message, name=name)
        self.extra = extra


class DataNotFoundError(CamlensError, FileNotFoundError):
    """A data folder (e.g. the CIFAR-10 test set) that is not where it was looked for."""

    category = "unavailable"
    code = "unavailable"


# --- model: the method cannot run on this model --------------------------------------------------
class KerasSupportError(CamlensError, NotImplementedError):
    """Something camlens does only for PyTorch models (``differentiable=True``, FullGrad, ...)."""


class OnnxModelError(ModelLoadError):
    """A file, bytes or session that is not a usable ONNX model (corrupt, not ONNX, no single
    image input); the user's model and session are left as they were."""


class OnnxRunError(CamlensError, RuntimeError):
    """ONNX Runtime failed to run the graph on what camlens fed it (an input the graph does not
    take, say): onnxruntime's first line, the shape fed and the layout camlens read."""

    category = "internal"
    code = "model_failed"


class UnsupportedByAdapterError(CamlensError, NotImplementedError):
    """A method that needs what this model's adapter cannot give (gradients of an ONNX graph,
    say); the message names the methods that can run."""

    category = "usage"
    code = "unsupported_by_model"


# --- the server ----------------------------------------------------------------------------------
class ServeError(CamlensError):
    """A request the server refuses: ``status`` (HTTP), ``code`` (stable, for clients), message.

    ``retry_after``: seconds to put in a ``Retry-After`` header (busy and timeout answers).
    """

    def __init__(
        self, status: int, code: str, message: str, *, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        #: the first category with this HTTP status (the status itself is what the server sends)
        self.category = next(
            (c.name for c in CATEGORIES.values() if c.http_status == status), "internal"
        )


class JobCancelled(CamlensError):
    """The request behind this job gave up (timeout or client gone); the job stops early."""

    category = "timeout"
    code = "timeout"
    retry_after = 1


# --- warnings ------------------------------------------------------------------------------------
class TrainingModeWarning(UserWarning):
    """The model is in training mode: dropout and batch-norm make the map depend on the batch."""


class AutoLayerWarning(UserWarning):
    """Says which layer ``target_layers=None`` chose."""


class UntrustedFileWarning(UserWarning):
    """A pickled model is being unpickled: that runs the file's code; load only files you trust."""


class NearZeroScoreWarning(UserWarning):
    """A target score so close to zero that Ablation-CAM's division by it was clamped."""


class AutoOutputWarning(UserWarning):
    """An ONNX graph with several outputs: camlens scores the first; ``output=`` chooses."""


class FixedBatchWarning(UserWarning):
    """The model takes one fixed batch size (an ONNX graph exported with batch 1): camlens runs
    the images one by one, which is slower than one batched run."""


__all__ = [
    "CATEGORIES",
    "AttentionNotFoundError",
    "AutoLayerWarning",
    "AutoOutputWarning",
    "CamlensError",
    "Category",
    "ConcurrentUseError",
    "DataNotFoundError",
    "DataSourceError",
    "DeviceError",
    "FixedBatchWarning",
    "ImageTooLargeError",
    "InvalidImageError",
    "InvalidInputError",
    "JobCancelled",
    "KerasSupportError",
    "LayerNotFoundError",
    "LayerNotReachedError",
    "LayerOutputError",
    "MaskError",
    "MissingDependencyError",
    "ModelLoadError",
    "NearZeroScoreWarning",
    "NotADualEncoderError",
    "NotForwardedError",
    "OnnxModelError",
    "OnnxRunError",
    "OptionError",
    "RunDirError",
    "ServeConfigError",
    "ServeError",
    "TargetError",
    "TrainingModeError",
    "TrainingModeWarning",
    "UnknownModelError",
    "UnsupportedByAdapterError",
    "UntrustedFileWarning",
    "VizInputError",
    "WeightsChecksumError",
    "WeightsNotFoundError",
    "WeightsUnavailableError",
    "category_of",
    "exit_code",
    "http_status",
]
