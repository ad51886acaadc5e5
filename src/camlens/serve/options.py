"""The request options and the JSON answers of the HTTP API (pydantic models: they validate the
options and document the endpoints in ``/openapi.json``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from .errors import ServeError, bad_request, invalid


class ExplainOptions(BaseModel):
    """The ``options`` part of ``POST /v1/explain``: a JSON object, every key optional."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field("gradcam", description="a name from GET /v1/methods")
    layer: str | None = Field(
        None, description="a layer name from GET /v1/layers; default: the server's layer"
    )
    target: Annotated[StrictInt, Field(ge=0)] | StrictStr | None = Field(
        None,
        description='the class to explain: an index (281 or "281") or a class name '
        '("tabby", any case), as `camlens explain --target`; default: the top-1 class',
    )
    prompt: str | None = Field(
        None,
        max_length=300,
        description="for a CLIP-style dual encoder (GET /healthz: dual_encoder): the text whose "
        "similarity to the image to explain (replaces target)",
    )
    colormap: str = Field("jet", description="a matplotlib colormap name")
    alpha: float = Field(0.5, ge=0.0, le=1.0, description="weight of the map in the overlay")
    top_k: int = Field(5, ge=1, description="how many of the best classes to list")
    map_size: int = Field(
        32, ge=1, description="largest side of the map array in the JSON answer (area-averaged)"
    )


def parse_options(text: str | None) -> ExplainOptions:
    """:class:`ExplainOptions` from the form field's JSON text (``None`` or empty: defaults)."""
    if text is None or not text.strip():
        return ExplainOptions()
    try:
        return ExplainOptions.model_validate_json(text)
    except ValidationError as exc:
        raise options_error(exc) from None


def options_error(exc: ValidationError) -> ServeError:
    """422 naming each bad option and why (pydantic's messages, without its URLs)."""
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "options"
        if error["type"] == "json_invalid":
            return bad_request(
                "invalid_options",
                "the 'options' form field must be a JSON object, e.g. "
                '{"method": "gradcam", "alpha": 0.5}; it is not valid JSON.',
            )
        if error["type"] == "model_type":
            return bad_request("invalid_options", "the 'options' form field must be a JSON object.")
        if error["type"] == "extra_forbidden":
            problems.append(
                f"unknown option {where!r} (known: {', '.join(ExplainOptions.model_fields)})"
            )
        else:
            problems.append(f"{where}: {error['msg']}")
    return invalid("invalid_options", "bad options: " + "; ".join(problems) + ".")


class ClassScore(BaseModel):
    """One class: its index, name (when the model has names), logit and softmax probability.
    For a text prompt: index 0, the prompt as label, its cosine similarity as score, no
    probability."""

    index: int
    label: str | None
    score: float
    probability: float | None


class MapArray(BaseModel):
    """The map as numbers: ``values[row][column]`` in [0, 1], area-averaged to at most
    ``map_size`` per side (``height`` x ``width``)."""

    height: int
    width: int
    values: list[list[float]]


class ExplainResponse(BaseModel):
    """The JSON answer of ``POST /v1/explain``.

    ``image``, ``heatmap`` and ``overlay`` are PNG data URLs at the model's input size: the
    model's view of the upload, the coloured map alone, and their blend at ``alpha``
    (``(1 - alpha) * image + alpha * heatmap``).
    """

    model: str
    method: str
    layer: str | None
    target: ClassScore
    prediction: ClassScore
    top_k: list[ClassScore]
    map: MapArray
    image: str
    heatmap: str
    overlay: str
    alpha: float
    colormap: str
    seconds: float
    prompt: str | None = None


class MethodInfo(BaseModel):
    """One method of ``GET /v1/methods``: its name, whether it needs gradients, a line on it."""

    name: str
    gradients: bool
    description: str


class MethodsResponse(BaseModel):
    """``GET /v1/methods``: the default method and every method the server runs."""

    default: str
    methods: list[MethodInfo]


class LayerEntry(BaseModel):
    """One layer of ``GET /v1/layers``: name, module kind, output shape, token grid, candidate."""

    name: str
    kind: str
    shape: list[int]
    grid: list[int] | None
    candidate: bool


class LayersResponse(BaseModel):
    """``GET /v1/layers``: the server's default layer and every layer of the model."""

    default: str | None
    layers: list[LayerEntry]


class Health(BaseModel):
    """``GET /healthz``: the model, device, worker pool and request counters."""

    status: str
    model: str
    device: str
    classes: int
    workers: int
    capacity: int
    admitted: int
    running: int
    served: int
    rejected: int
    timed_out: int
    cancelled: int
    limits: dict[str, int | float]
    dual_encoder: bool = False


class ErrorResponse(BaseModel):
    """Every refusal: a stable ``error`` code and a ``detail`` that says what to do."""

    error: str
    detail: str
