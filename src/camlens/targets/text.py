"""Text-prompt targets for CLIP-style dual encoders: why does the image match *a dog*?

The score of prompt ``k`` is the cosine similarity ``cos(e, t_k) = e·t_k / (‖e‖·‖t_k‖)`` of the
image embedding ``e`` (the output of :attr:`TextPromptTarget.image_model`) with the prompt's
text embedding ``t_k`` — :class:`~camlens.targets.SimilarityTarget` with ``t_k`` as reference. With
``contrast=True`` it is the probability of prompt ``k`` against the others,
``softmax_k(s · cos(e, t_1..P))`` with ``s`` the model's ``logit_scale.exp()`` (CLIP's zero-shot
classifier over the prompts).

Dual encoders understood: Hugging Face ``CLIPModel`` (``get_image_features`` /
``get_text_features``) and open_clip models (``encode_image`` / ``encode_text`` / ``visual``,
also camlens's ``zoo.load("benchmark-clip")``). The text embeddings are computed once, when the
target is built, in one text-encoder call for all prompts.

    target = TextPromptTarget(model, ["a dog", "a cat"], tokenizer=tokenizer)
    cam = GradCAM(target.image_model, target_layers=...)
    dog_map, cat_map = (e.maps for e in cam.explain_targets(x, list(target)))
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import NotADualEncoderError as NotADualEncoderError  # re-exported
from ..errors import TargetError
from .embedding import SimilarityTarget

__all__ = ["NotADualEncoderError", "TextPromptTarget", "dual_encoder_kind", "image_tower"]


def dual_encoder_kind(model: object) -> str | None:
    """``"hf"`` (Hugging Face CLIPModel-like), ``"open_clip"`` (open_clip-like) or None."""
    if all(hasattr(model, a) for a in ("get_image_features", "get_text_features")) and all(
        isinstance(getattr(model, a, None), nn.Module) for a in ("vision_model", "text_model")
    ):
        return "hf"
    if (
        callable(getattr(model, "encode_image", None))
        and callable(getattr(model, "encode_text", None))
        and isinstance(getattr(model, "visual", None), nn.Module)
    ):
        return "open_clip"
    return None


def _require_dual_encoder(model: object) -> str:
    kind = dual_encoder_kind(model)
    if kind is None:
        raise NotADualEncoderError(
            f"{type(model).__name__} is not a CLIP-style dual encoder: text prompts need a "
            "Hugging Face CLIPModel (get_image_features/get_text_features) or an open_clip "
            "model (encode_image/encode_text/visual), e.g. camlens.zoo.load('benchmark-clip'). "
            "Explain a classifier with a class target instead (ClassTarget, --target)."
        )
    return kind


class HFImageTower(nn.Module):
    """A Hugging Face CLIPModel's image side as a model of its own: pixel values ``(B, 3, H, W)``
    -> image embeddings ``(B, D)`` (``visual_projection(vision_model(x).pooler_output)``,
    what ``get_image_features`` returns). Its layers keep the CLIPModel's names
    (``vision_model.encoder.layers.11``, ...)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.vision_model = model.vision_model
        self.visual_projection = model.visual_projection

    def forward(self, x: Tensor) -> Tensor:
        return self.visual_projection(self.vision_model(pixel_values=x).pooler_output)


class _OpenClipImageTower(nn.Module):
    """open_clip's ``visual`` tower, keeping only the embedding when it returns tokens too."""

    def __init__(self, visual: nn.Module) -> None:
        super().__init__()
        self.visual = visual

    def forward(self, x: Tensor) -> Tensor:
        out = self.visual(x)
        return out[0] if isinstance(out, tuple) else out


def image_tower(model: nn.Module) -> nn.Module:
    """The module a CAM method explains for a dual encoder: images -> image embeddings ``(B, D)``
    (Hugging Face: :class:`HFImageTower`; open_clip: ``model.visual``). Raises
    :class:`NotADualEncoderError` for any other model."""
    kind = _require_dual_encoder(model)
    if kind == "hf":
        return HFImageTower(model)
    visual = model.visual
    if getattr(visual, "output_tokens", False):
        return _OpenClipImageTower(visual)
    return visual


def _features(out: object) -> Tensor:
    """``get_text_features`` returns a tensor (transformers 4) or an output with
    ``pooler_output`` (transformers 5)."""
    if isinstance(out, Tensor):
        return out
    pooled = getattr(out, "pooler_output", None)
    if isinstance(pooled, Tensor):
        return pooled
    raise TargetError(f"the text encoder returned {type(out).__name__}, not embeddings.")


def _default_tokenizer(model: nn.Module, kind: str) -> Callable[[list[str]], Any]:
    own = getattr(model, "tokenizer", None)
    if callable(own):
        return own
    if kind == "open_clip" and type(model).__module__.startswith("open_clip"):
        import open_clip

        context = int(getattr(model, "context_length", 77))
        return lambda prompts: open_clip.tokenize(prompts, context_length=context)
    raise TargetError(
        f"{type(model).__name__} comes with no tokenizer camlens can use offline: pass "
        "tokenizer= (e.g. transformers.CLIPTokenizer.from_pretrained(<its folder>)) or the "
        "prompts already tokenised (a tensor of token ids, or a dict with input_ids and "
        "attention_mask)."
    )


def _tokenise(tokenizer: Any, prompts: list[str]) -> Any:
    if hasattr(tokenizer, "model_input_names"):  # a Hugging Face tokenizer
        return tokenizer(prompts, padding=True, return_tensors="pt")
    return tokenizer(prompts)


class TextPromptTarget:
    """The similarity of the image to text prompts, one map per prompt.

    Args:
        model: a dual encoder (Hugging Face ``CLIPModel`` or an open_clip model).
        prompts: one prompt, several, or the prompts already tokenised (a tensor of token ids
            ``(P, L)`` or a mapping with ``input_ids``/``attention_mask``).
        tokenizer: turns a list of prompts into token ids; default: the model's own
            (``model.tokenizer``; open_clip's bundled ``SimpleTokenizer``). Required for a
            Hugging Face model given prompts as text.
        contrast: score ``softmax(s · cos)`` over the prompts instead of ``cos``.
        scale: ``s`` of the softmax (default: ``model.logit_scale.exp()``, else 100).
        eps: the zero-norm guard of the cosine (``F.cosine_similarity``'s).

    A target scores one prompt per image: with one prompt, pass it as ``targets=``; with several,
    ``list(target)`` (or ``target[k]``) gives one target per prompt, all sharing the embeddings
    computed here — ``cam.explain_targets(x, list(target))`` makes one map per prompt from one
    forward pass. Explain :attr:`image_model` (images -> image embeddings), not ``model``.

    Score of prompt ``t`` with text embedding ``u_t`` for the image embedding ``e``:
    ``cos(e, u_t)``, or with ``contrast=True`` ``softmax_t(s · cos(e, u))``. Shapes: one image's
    embedding ``(D,)`` -> a scalar ``()``; token ids ``(P, L)`` give ``P`` targets.

    Example:
        >>> import torch
        >>> from transformers import CLIPConfig, CLIPModel
        >>> tiny = dict(hidden_size=8, intermediate_size=16, num_hidden_layers=1,
        ...             num_attention_heads=2)
        >>> config = CLIPConfig(
        ...     text_config=dict(tiny, vocab_size=20, max_position_embeddings=8,
        ...                      bos_token_id=0, eos_token_id=3),
        ...     vision_config=dict(tiny, image_size=16, patch_size=8), projection_dim=4)
        >>> clip = CLIPModel(config).eval()
        >>> target = TextPromptTarget(clip, torch.tensor([[0, 1, 3], [0, 2, 3]]))  # 2 prompts
        >>> embedding = target.image_model(torch.rand(1, 3, 16, 16))[0]
        >>> [tuple(t(embedding).shape) for t in target]
        [(), ()]
    """

    def __init__(
        self,
        model: nn.Module,
        prompts: str | Sequence[str] | Tensor | Mapping[str, Tensor],
        *,
        tokenizer: Callable[[list[str]], Any] | None = None,
        contrast: bool = False,
        scale: float | None = None,
        eps: float = 1e-8,
    ) -> None:
        kind = _require_dual_encoder(model)
        if isinstance(prompts, Tensor | Mapping):
            tokens, texts = prompts, None
        else:
            texts = [prompts] if isinstance(prompts, str) else [str(p) for p in prompts]
            if not texts or any(not t.strip() for t in texts):
                raise TargetError(f"give at least one non-empty prompt, got {texts!r}.")
            tokenizer = tokenizer or _default_tokenizer(model, kind)
            tokens = _tokenise(tokenizer, texts)
        self.text_embeddings = self._encode(model, kind, tokens)
        count = self.text_embeddings.shape[0]
        self.prompts = texts if texts is not None else [f"prompt {k}" for k in range(count)]
        if len(self.prompts) != count:
            raise TargetError(
                f"the text encoder gave {count} embeddings for {len(self.prompts)} prompts."
            )
        self.kind = kind
        self.image_model = image_tower(model)
        self.contrast = bool(contrast)
        if scale is None:
            logit_scale = getattr(model, "logit_scale", None)
            scale = float(logit_scale.detach().exp()) if isinstance(logit_scale, Tensor) else 100.0
        self.scale = float(scale)
        self.eps = float(eps)
        self.index: int | None = 0 if count == 1 else None
        self._similarity = [SimilarityTarget(t, eps=eps) for t in self.text_embeddings]

    @staticmethod
    def _encode(model: nn.Module, kind: str, tokens: Any) -> Tensor:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        if isinstance(tokens, Tensor):
            tokens = {"input_ids": tokens}
        elif isinstance(tokens, Mapping) or hasattr(tokens, "keys"):
            tokens = dict(tokens)
        else:
            raise TargetError(
                f"the tokenizer returned {type(tokens).__name__}; it must return a tensor of "
                "token ids or a mapping with input_ids (and attention_mask)."
            )
        if "input_ids" not in tokens:
            raise TargetError(f"tokenised prompts need input_ids, got keys {sorted(tokens)}.")
        ids = torch.as_tensor(tokens["input_ids"]).to(device)
        if ids.ndim == 1:
            ids = ids[None]
        with torch.no_grad():
            if kind == "hf":
                mask = tokens.get("attention_mask")
                mask = None if mask is None else torch.as_tensor(mask).to(device)
                text = _features(model.get_text_features(input_ids=ids, attention_mask=mask))
            else:
                text = model.encode_text(ids)
        text = text.detach().float()
        if text.ndim != 2 or text.shape[0] != ids.shape[0]:
            raise TargetError(f"the text encoder gave embeddings of shape {tuple(text.shape)}.")
        return F.normalize(text, dim=-1, eps=1e-12)

    def __len__(self) -> int:
        return len(self.prompts)

    def __getitem__(self, k: int) -> TextPromptTarget:
        if not -len(self) <= k < len(self):
            raise TargetError(f"prompt {k} asked for, but the target holds {len(self)} prompts.")
        view = copy.copy(self)  # shares the embeddings: no text-encoder call
        view.index = k % len(self)
        return view

    def __iter__(self) -> Iterator[TextPromptTarget]:
        return (self[k] for k in range(len(self)))

    @property
    def prompt(self) -> str | None:
        """The prompt this target scores (None before one is picked among several)."""
        return None if self.index is None else self.prompts[self.index]

    def similarities(self, output: Tensor) -> Tensor:
        """``(P,)``: the cosine similarity of one image's embedding with every prompt."""
        if not isinstance(output, Tensor):
            raise TargetError(
                f"TextPromptTarget needs one image's embedding, not {type(output).__name__}."
            )
        embedding = output.reshape(-1)
        if embedding.numel() != self.text_embeddings.shape[1]:
            raise TargetError(
                f"the model's output has {embedding.numel()} values per image but the text "
                f"embeddings {self.text_embeddings.shape[1]}: explain target.image_model (the "
                "image tower), not the whole dual encoder or another model."
            )
        text = self.text_embeddings.to(device=embedding.device, dtype=embedding.dtype)
        return F.cosine_similarity(embedding[None], text, dim=1, eps=self.eps)

    def __call__(self, output: Tensor) -> Tensor:
        if self.index is None:
            raise TargetError(
                f"this target holds {len(self)} prompts {self.prompts}: pass list(target) "
                "(one map per prompt, e.g. cam.explain_targets(x, list(target))) or target[k]."
            )
        if not self.contrast:
            if not isinstance(output, Tensor) or output.numel() != self.text_embeddings.shape[1]:
                self.similarities(output)  # raises the error that says what to explain
            return self._similarity[self.index](output)
        return torch.softmax(self.scale * self.similarities(output), dim=0)[self.index]

    def __repr__(self) -> str:
        what = self.prompts if self.index is None else repr(self.prompts[self.index])
        mode = ", contrast" if self.contrast else ""
        return f"TextPromptTarget({what}{mode})"
