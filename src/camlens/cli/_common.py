"""What every ``camlens`` command shares: exit codes, one-line errors, ``--device``, ``--debug``,
model options, method names with close matches, and progress bars (images, and the masked
images of the perturbation methods: :func:`batch_progress`).

Use it in a command module::

    from ._common import GuardedCommand, debug_option, device_option

    @click.command(name="mine", cls=GuardedCommand)
    @device_option
    @debug_option
    def command(device, debug): ...

``GuardedCommand`` turns any exception into one ``Error: ...`` line on stderr and an exit code
from :data:`EXIT_CODES`, looked up from the error's category in :data:`camlens.errors.CATEGORIES`
(the traceback too with ``--debug`` or ``CAMLENS_DEBUG=1``), and prints
Python warnings as one line each.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import click

from ..errors import CATEGORIES

T = TypeVar("T")


def _exit(category: str) -> int:
    code = CATEGORIES[category].exit_code
    assert code is not None, category
    return code


# The exit codes come from camlens.errors.CATEGORIES, the one table (docs/cli.md shows it).
EXIT_OK = _exit("success")  # 0
EXIT_FAILURE = _exit("internal")  # 1: the command ran and failed
EXIT_USAGE = _exit("usage")  # 2: bad command line, option value, name or layer
EXIT_BAD_INPUT = _exit("input")  # 3: an input file or data that cannot be used
EXIT_UNAVAILABLE = _exit("unavailable")  # 4: the model, weights, data or device
EXIT_INTERRUPTED = _exit("interrupted")  # 130: Ctrl-C

#: exit code -> what it means (the categories of that code, in the table's order).
EXIT_CODES: dict[int, str] = {}
for _category in CATEGORIES.values():
    if _category.exit_code is not None:
        EXIT_CODES.setdefault(_category.exit_code, _category.meaning)

_DEVICE_PATTERN = re.compile(r"^(cpu|cuda(:\d+)?|mps|auto)$")


class CommandError(click.ClickException):
    """A one-line ``Error: ...`` with the exit code of its kind."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(one_line(message))
        self.exit_code = exit_code  # type: ignore[misc]  # click types it as a ClassVar


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines too) made one space."""
    return " ".join(str(text).split())


def exit_code_for(exc: BaseException) -> int:
    """The exit code for an exception: click's own for click's, else its category's in
    :data:`camlens.errors.CATEGORIES` (see :data:`EXIT_CODES`)."""
    from ..errors import exit_code

    if isinstance(exc, click.exceptions.Exit | click.ClickException):
        return exc.exit_code
    if isinstance(exc, click.Abort):
        return EXIT_INTERRUPTED
    return exit_code(exc)


def describe(exc: BaseException) -> str:
    """The one-line message for an exception (unexpected ones get their type and a hint)."""
    from ..core.errors import CamlensError

    text = one_line(exc)
    if isinstance(exc, CamlensError):
        return text or type(exc).__name__
    if isinstance(exc, MemoryError) or "out of memory" in text.lower():
        return f"out of memory: {text} (try --batch-size 1, smaller images, or another device)"
    return f"{type(exc).__name__}: {text} (run with --debug for the traceback)"


def _debug_enabled(ctx: click.Context) -> bool:
    flag = ctx.params.get("debug")
    return bool(flag) or os.environ.get("CAMLENS_DEBUG", "") not in ("", "0")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    stream = file if file is not None else sys.stderr
    with contextlib.suppress(OSError, ValueError):  # a closed stream
        stream.write(f"camlens: {category.__name__}: {one_line(message)}\n")


class GuardedCommand(click.Command):
    """A click command whose errors are one line and an exit code (see :data:`EXIT_CODES`)."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """Parse errors (unknown option, missing --model, bad --device) as one line too."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            path = exc.ctx.command_path if exc.ctx is not None else f"camlens {info_name}"
            message = one_line(exc.format_message()).rstrip(".")
            raise CommandError(f"{message}. See `{path} --help`.", exc.exit_code) from None

    def invoke(self, ctx: click.Context) -> Any:
        debug = _debug_enabled(ctx)
        previous = warnings.showwarning
        if not debug:
            warnings.showwarning = _one_line_warning
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except click.UsageError as exc:  # a bad value found while running: one line, no usage
            if debug:
                traceback.print_exc()
            raise CommandError(exc.format_message(), exc.exit_code) from None
        except click.ClickException as exc:
            if debug:
                traceback.print_exc()
            exc.message = one_line(exc.message)  # type: ignore[misc]  # Final in click's types
            raise
        except (KeyboardInterrupt, click.Abort):
            raise CommandError("interrupted", EXIT_INTERRUPTED) from None
        except Exception as exc:
            if debug:
                traceback.print_exc()
            from ..extras import missing_extra

            # a package of an extra that is not installed: name the extra, not the module
            exc = missing_extra(exc, f"`{ctx.command_path}`") or exc
            raise CommandError(describe(exc), exit_code_for(exc)) from None
        finally:
            warnings.showwarning = previous


# --- options ----------------------------------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


def _check_device(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not _DEVICE_PATTERN.match(value.strip().lower()):
        raise click.BadParameter(f"{value!r}: use cpu, cuda, cuda:N, mps or auto.")
    return value.strip().lower()


def device_option(f: F) -> F:
    """``--device cpu|cuda|cuda:N|mps|auto`` (default ``cpu``; env ``CAMLENS_DEVICE``)."""
    return click.option(
        "--device",
        default="cpu",
        show_default=True,
        envvar="CAMLENS_DEVICE",
        callback=_check_device,
        metavar="cpu|cuda|mps|auto",
        help="cpu, cuda, cuda:N, mps, or auto (the first available of cuda, mps, cpu).",
    )(f)


def debug_option(f: F) -> F:
    """``--debug``: print the traceback of an error too (or set ``CAMLENS_DEBUG=1``)."""
    return click.option(
        "--debug",
        is_flag=True,
        default=False,
        help="On error, print the full traceback too (also CAMLENS_DEBUG=1).",
    )(f)


def model_options(*, required: bool = True, argument: bool = False) -> Callable[[F], F]:
    """``--model`` (or a ``MODEL`` argument), ``--weights``, ``--labels``, ``--size``."""

    def decorate(f: F) -> F:
        f = click.option(
            "--size",
            type=click.IntRange(min=8),
            default=None,
            help="Input side for saved models of unknown preprocessing (default 224).",
        )(f)
        f = click.option(
            "--labels",
            type=click.Path(dir_okay=False, exists=True),
            default=None,
            help="Class names, one a line (replaces the weights' own names).",
        )(f)
        f = click.option(
            "--weights",
            default=None,
            metavar="NAME|FILE|random",
            help="A torchvision weights name (IMAGENET1K_V1, DEFAULT), a state-dict file, or "
            "'random'. Never downloaded: torchvision's must already be in torch's hub cache.",
        )(f)
        if argument:
            return click.argument("model", metavar="MODEL", shell_complete=complete_models)(f)
        return click.option(
            "--model",
            "-m",
            required=required,
            metavar="MODEL",
            shell_complete=complete_models,
            help="demo, a torchvision or timm name (resnet50, timm:resnet18), a camlens zoo "
            "name, or a model file saved with torch.save(model).",
        )(f)

    return decorate


# --- names ------------------------------------------------------------------------------------


def method_names() -> list[str]:
    """The method names ``--method`` accepts (``camlens.METHODS``)."""
    from ..methods import METHODS

    return list(METHODS)


def parse_method(name: str, param: str = "--method") -> tuple[str, type]:
    """``(canonical name, class)`` for a method name, or a usage error listing close matches."""
    from ..methods import METHODS, get_method

    try:
        cls = get_method(name)
    except KeyError:
        close = difflib.get_close_matches(name.lower(), list(METHODS), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise click.BadParameter(
            f"unknown method {name!r}.{hint} Known: {', '.join(METHODS)}.", param_hint=param
        ) from None
    canonical = next(key for key, value in METHODS.items() if value is cls)
    return canonical, cls


def parse_methods(value: str, param: str = "--methods") -> list[str]:
    """Canonical names of a comma-separated ``--methods``; a usage error when none is given."""
    names = [parse_method(m, param)[0] for m in split_list(value)]
    if not names:
        raise click.BadParameter("give at least one method.", param_hint=param)
    return names


def split_list(value: str | Iterable[str] | None) -> list[str]:
    """``"a,b, c"`` (or repeated options) as ``["a", "b", "c"]``."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def complete_methods(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Shell completion of method names (also after a comma, for ``--methods``)."""
    head, _, tail = incomplete.rpartition(",")
    prefix = f"{head}," if head else ""
    return [
        click.shell_completion.CompletionItem(prefix + name)
        for name in method_names()
        if name.startswith(tail.lower())
    ]


def complete_models(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Shell completion of ``demo`` and torchvision model names (files complete as files)."""
    from click.shell_completion import CompletionItem

    if "/" in incomplete or incomplete.startswith("."):
        return [CompletionItem(incomplete, type="file")]
    try:
        from ..loading import _torchvision_names

        names = ["demo", *_torchvision_names()]
    except Exception:
        names = ["demo"]
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


# --- output -----------------------------------------------------------------------------------


def note(message: str) -> None:
    """A line on stderr (``camlens: ...``) that does not break a progress bar."""
    from tqdm import tqdm

    tqdm.write(f"camlens: {message}", file=sys.stderr)


def say(message: str) -> None:
    """A result line on stdout that does not break a progress bar."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stdout)


def progress_option(f: F) -> F:
    """``--progress/--no-progress``: progress bars on stderr always / never (default: when
    stderr is a terminal). ``None`` when neither is given."""
    return click.option(
        "--progress/--no-progress",
        "show_progress",
        default=None,
        help="Progress bars on stderr (images; masked images of Score-CAM, Ablation-CAM, ...): "
        "--progress always, --no-progress never; by default when stderr is a terminal.",
    )(f)


def bars_shown(enabled: bool | None) -> bool:
    """Whether to show progress bars for a ``--progress/--no-progress`` value."""
    if enabled is None:
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False
    return bool(enabled)


def progress(
    items: Iterable[T], *, total: int, desc: str, enabled: bool | None = None
) -> Iterator[T]:
    """``tqdm`` over ``items`` on stderr, for more than one item: on a terminal
    (``enabled=None``), always (``True``) or never (``False``)."""
    from tqdm import tqdm

    disable = not (bars_shown(enabled) and total > 1)
    yield from tqdm(
        items, total=total, desc=desc, unit="img", disable=disable, leave=False, file=sys.stderr
    )


@contextlib.contextmanager
def batch_progress(enabled: bool | None, desc: str = "masked images") -> Iterator[None]:
    """Within the block, a tqdm bar on stderr of the masked images the perturbation methods
    score (:func:`camlens.progress`), with tqdm's estimate of the time left; restarted for each
    layer and image. Shown as :func:`progress` decides (``None``: on a terminal)."""
    if not bars_shown(enabled):
        yield
        return
    from tqdm import tqdm

    from ..core.progress import progress as report_to

    bar: Any = None

    def report(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc=desc, unit="img", leave=False, file=sys.stderr)
        elif done == 0:
            bar.reset(total=total)
        bar.update(done - bar.n)

    try:
        with report_to(report):
            yield
    finally:
        if bar is not None:
            bar.close()


def cpu_share(parts: int, *, at_least: int = 0, at_most: int = 4) -> int:
    """This machine's CPU cores split over ``parts`` (workers, ranks), within the bounds."""
    return max(at_least, min(at_most, (os.cpu_count() or 1) // parts))


def load_model_for_cli(
    model: str,
    weights: str | None,
    device: str,
    labels: str | None,
    size: int | None,
    *,
    quiet: bool = False,
) -> Any:
    """:func:`camlens.loading.load_model`, then a note on stderr when the weights are random."""
    from ..loading import load_model

    loaded = load_model(model, weights, device=device, labels=labels, input_size=size)
    require_hookable(loaded)
    for line in loaded.notes:
        if line.startswith("random weights") and not quiet:
            note(line)
    return loaded


# --- shared by explain and compare ------------------------------------------------------------


def check_image_paths(paths: Iterable[Any]) -> list[Any]:
    """Fail early (exit 3) when an image path is missing or a folder, before the model loads."""
    from pathlib import Path

    from ..loading import InvalidImageError

    checked = []
    for path in paths:
        path = Path(path).expanduser()
        if not path.exists():
            raise InvalidImageError(f"{path}: no such file.")
        if not path.is_file():
            raise InvalidImageError(f"{path}: not a file (pass image files, e.g. dir/*.jpg).")
        checked.append(path)
    return checked


def resolve_layer_option(loaded: Any, layer: str, example: Any) -> list[str]:
    """``--layer``/``--layers`` as names: ``auto`` is the model's known layer, else discovery.

    Unknown names are a usage error listing close matches and pointing at ``camlens layers``.
    """
    from ..core.discovery import choose_layer
    from ..core.errors import LayerNotFoundError
    from ..core.layers import resolve_layers

    names = split_list(layer) if layer is not None else ["auto"]
    if not names:
        raise click.BadParameter(
            f"{layer!r}: give at least one layer name (or auto).", param_hint="--layer"
        )
    chosen = []
    for name in names:
        if name.lower() == "auto":
            name = loaded.target_layer or choose_layer(loaded.model, example)
        chosen.append(name)
    try:
        resolved = resolve_layers(loaded.model, chosen)
    except LayerNotFoundError as exc:
        message = one_line(exc).split(" List the names")[0]
        raise click.BadParameter(
            f"{message} List them with `camlens layers {loaded.name}`.", param_hint="--layer"
        ) from None
    return [name for name, _ in resolved]


class TargetSpec:
    """One ``--target``: ``topK`` (ranks 0..K-1) or a class (an index or a category name)."""

    _TOP = re.compile(r"^top-?(\d+)$", re.IGNORECASE)

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        match = self._TOP.match(self.text)
        self.top = int(match.group(1)) if match else None
        if self.top is not None and self.top < 1:
            raise click.BadParameter(f"{text!r}: top-k needs k >= 1.", param_hint="--target")

    def resolve(self, loaded: Any) -> list[tuple[str, Any]]:
        """``[(tag, target)]``: ``("top2", RankTarget(1))`` or ``("class-281", ClassTarget)``."""
        from ..core.errors import InvalidInputError
        from ..targets import ClassTarget, RankTarget

        if self.top is not None:
            return [(f"top{r + 1}", RankTarget(r)) for r in range(self.top)]
        try:
            index = loaded.class_index(self.text)
        except InvalidInputError as exc:
            raise click.BadParameter(one_line(exc), param_hint="--target") from None
        return [(f"class-{index}", ClassTarget(index))]


def resolve_targets(texts: Iterable[str], loaded: Any) -> list[tuple[str, Any]]:
    """Every ``--target`` as ``(tag, target)``, duplicates dropped, in the order given."""
    seen: dict[str, Any] = {}
    for text in texts:
        for tag, target in TargetSpec(text).resolve(loaded):
            seen.setdefault(tag, target)
    return list(seen.items())


def check_categories(loaded: Any, outputs: Any) -> None:
    """Fail (exit 3) when the class names do not match the model's number of outputs."""
    from ..core.errors import InvalidInputError

    width = int(outputs.shape[-1]) if getattr(outputs, "ndim", 0) >= 2 else None
    if loaded.categories is not None and width is not None and len(loaded.categories) != width:
        raise InvalidInputError(
            f"{len(loaded.categories)} class names for a model with {width} outputs; "
            "pass a --labels file with one name per output."
        )


def class_label(loaded: Any, index: int) -> str:
    """``"tabby (281)"`` when the model has class names, else ``"class 281"``."""
    name = loaded.category(index)
    return name if loaded.categories is None else f"{name} ({index})"


def unique_stems(paths: Iterable[Any]) -> list[str]:
    """File stems for outputs, made unique (``cat``, ``cat-2``) when two images share one."""
    from pathlib import Path

    stems: list[str] = []
    counts: dict[str, int] = {}
    for path in paths:
        stem = Path(path).stem or "image"
        counts[stem] = counts.get(stem, 0) + 1
        stems.append(stem if counts[stem] == 1 else f"{stem}-{counts[stem]}")
    return stems


def require_hookable(loaded: Any) -> None:
    """Refuse TorchScript models: PyTorch allows no hooks on them, so no layer can be read."""
    import torch

    from ..loading import ModelLoadError

    if isinstance(loaded.model, torch.jit.ScriptModule):
        raise ModelLoadError(
            f"{loaded.name} is a TorchScript model, and PyTorch does not allow hooks on "
            "ScriptModules, so camlens cannot read its layers. Save the eager model instead: "
            "torch.save(model, FILE), or its state dict for --model ARCH --weights FILE."
        )
