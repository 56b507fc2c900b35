"""Building blocks shared by the categories: domain vocabularies, input loads, straight-line code, stores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..types import WarpType
from ..writer import KernelWriter


@dataclass(frozen=True)
class Vocabulary:
    """A category's names: input arrays with the local an element is loaded into, parameters, outputs and
    locals, by Warp type (``type.name``). A name is used once per kernel; the writer's defaults fill gaps."""

    inputs: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)
    params: Mapping[str, Sequence[str]] = field(default_factory=dict)
    outputs: Mapping[str, Sequence[str]] = field(default_factory=dict)
    locals: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def apply(self, w: KernelWriter) -> None:
        """Name this kernel's locals from the vocabulary first."""
        for type_name, names in self.locals.items():
            w.local_names[type_name] = (*names, *w.local_names.get(type_name, ()))


def load_input(w: KernelWriter, vocab: Vocabulary, t: WarpType, **array_options) -> str:
    """Declare an input array of ``t`` named from ``vocab`` and load element ``i``; returns the local."""
    pairs = [(a, e) for a, e in vocab.inputs.get(t.name, ()) if not w.taken(a) and not w.taken(e)]
    if not pairs:
        return w.input_array(t, load=True, **array_options)
    array, element = pairs[0] if len(pairs) == 1 else w.rng.choice(pairs[:3])
    return w.input_array(t, array, load=element, **array_options)


def declare_inputs(
    w: KernelWriter, vocab: Vocabulary, choices: Sequence[WarpType], count: int | None = None
) -> list[str]:
    """Declare ``count`` input arrays (default: the level's number) of types drawn from ``choices``, each
    loaded into a local; returns the locals."""
    n = w.limits.inputs if count is None else count
    return [load_input(w, vocab, w.rng.choice(list(choices))) for _ in range(n)]


def param(w: KernelWriter, vocab: Vocabulary, t: WarpType, recipe: dict | None = None) -> str:
    """A by-value parameter named from ``vocab``."""
    names = [n for n in vocab.params.get(t.name, ()) if not w.taken(n)]
    return w.param(t, names or None, recipe=recipe)


def output(w: KernelWriter, vocab: Vocabulary, t: WarpType, **array_options) -> str:
    """An output array named from ``vocab``."""
    names = [n for n in vocab.outputs.get(t.name, ()) if not w.taken(n)]
    return w.output_array(t, names or None, **array_options)


def straight_line(w: KernelWriter, choices: Sequence[WarpType], statements: int | None = None) -> list[str]:
    """Assign ``statements`` new locals of types drawn from ``choices``, each reading what came before."""
    names = []
    for _ in range(w.limits.statements if statements is None else statements):
        possible = [t for t in choices if w.can_compute(t)]
        if possible:
            names.append(w.assign(w.rng.choice(possible)))
    return names


def store(w: KernelWriter, vocab: Vocabulary, t: WarpType, depth: int | None = None) -> str:
    """Declare an output array of ``t`` and write element ``i`` from everything nothing has read yet."""
    out = output(w, vocab, t)
    w.store(out, "i", w.result(t, depth))
    return out


def reduced_depth(w: KernelWriter) -> int:
    """One less than the level's expression depth, so that products of products stay within what float32
    finite differences can check."""
    return max(1, w.limits.depth - 1)
