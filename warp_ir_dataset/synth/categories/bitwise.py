"""The ``bitwise`` category: integer and bit-level work across Warp's scalar widths.

Kernels read integer arrays (``int``, ``wp.uint32``, ``wp.int64``; sometimes ``float``/``wp.float64``) and
chain a few motifs: integer hashing (xorshift / multiply / rotate / PCG-style rounds on ``wp.uint32``), bit
packing and unpacking, flag words (test / set / clear / toggle, atomics), Morton codes (magic-number spreading
in a ``@wp.func`` or a bit loop), population counts (bit loop, Kernighan, SWAR, ``wp.bit_count``), integer
division and modulo by positive constants (digit sums, gcd, Collatz), width conversions (``wp.int64``
accumulation, ``wp.float64`` fixed point, narrow ``uint8``/``int16`` values), IEEE bit tricks with
``wp.cast``, histogram atomics and an open-addressing hash table.

Literals carry their width (``wp.uint32(13)``) because Warp does not mix integer types, and a constant made of
constants is folded here (``wp.uint32(1 << 9)`` is written ``wp.uint32(512)``). Undefined behaviour is avoided
by construction: shifts are by constants or by values masked below the width, signed values are masked
non-negative before shifting, divisors are positive, float-to-integer conversions are clamped and rounded.
Warp spells integer literals as int32: multipliers and masks stay below 2**31, except complement masks and the
sign bit, written in hex inside ``wp.uint32(...)`` (the int32 literal has the same bits).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from ..category import register_category
from ..expressions import Production
from ..types import BOOL, FLOAT, FLOAT64, INT, INT64, UINT32, UINT64, WarpType
from ..writer import KernelWriter
from .common import Vocabulary, load_input, output, straight_line

VOCABULARY = Vocabulary(
    inputs={
        "uint32": (("keys", "key"), ("words", "word"), ("hashes", "hash_in"), ("masks", "mask_in")),
        "int": (("ids", "id_value"), ("counts", "count"), ("labels", "label"), ("codes", "code")),
        "int64": (("ticks", "tick"), ("offsets", "offset"), ("timestamps", "stamp")),
        "float64": (("balances", "balance"), ("precise_values", "precise")),
        "float": (("values", "value"), ("samples", "sample"), ("weights", "weight")),
    },
    outputs={
        "uint32": ("out_bits", "hashed", "packed_out"),
        "int": ("out_counts", "buckets", "out_codes"),
        "int64": ("out_wide", "wide_totals"),
        "float64": ("out_f64", "precise_out"),
        "float": ("out", "unit_values", "decoded"),
    },
    locals={
        "uint32": ("bits", "word", "mixed"),
        "int": ("count", "bucket", "digit"),
        "int64": ("wide", "total64"),
        "float64": ("precise", "wide_value"),
        "float": ("value", "fraction"),
    },
)

#: Odd multipliers below 2**31 from well-known hashes (PCG, xxHash, Wang, LCGs, lowbias32, murmur-like).
_ODD = (747796405, 277803737, 1664525, 1013904223, 73244475, 668265261, 374761393, 668265263, 2146121005, 1103515245)
_F16 = WarpType("float16", "wp.float16")
#: Names of the fields of a word packed from 2, 3 or 4 fields.
_FIELD_NAMES = {
    2: (("lo", "low_field"), ("hi", "high_field")),
    3: (("lo", "low_field"), ("mid", "mid_field"), ("hi", "high_field")),
    4: (("lo", "byte_lo"), ("mid_lo", "byte_1"), ("mid_hi", "byte_2"), ("hi", "byte_hi")),
}
_OUTPUT_TYPES = (UINT32, INT, INT64, FLOAT64, FLOAT)


def _u(value: int) -> str:
    """A ``wp.uint32`` literal; bit masks (and anything past 0xFFFF) are written in hex. Warp spells the number
    inside as an int32 literal: past 2**31 (complement masks only) it wraps to the same bits."""
    if not 0 <= value < 2**32:
        raise ValueError(f"uint32 constant {value} out of range")
    text = str(value)
    if value > 0xFFFF or (value >= 0xFF and value & (value + 1) == 0):
        text = f"0x{value:08X}" if value > 0xFFFFFF else f"0x{value:X}"
    return f"wp.uint32({text})"


def _m(value: int) -> str:
    """A ``wp.uint32`` multiplier or offset constant, in decimal as hash code usually writes them."""
    return f"wp.uint32({value})"


# ----------------------------------------------------------------------------- productions


def _productions(w: KernelWriter) -> None:
    """Typed integer, unsigned, 64-bit and double operations; constants drawn once per kernel."""
    rng = w.rng
    s1, s2 = rng.sample(range(1, 16), 2)
    odd = rng.choice(_ODD)
    # two masks and two divisors, so that a mask (modulo) applied twice is not the same operation twice
    mask, mask2 = rng.sample((0xFF, 0xFFF, 0xFFFF, 0x3FF, 0x7F, 0xF0F0F0F, 0x55555555, 0x33333333), 2)
    c, c2 = rng.sample((3, 5, 7, 10, 12, 16, 100, 1000), 2)
    U, N, L, D, F, B = UINT32, INT, INT64, FLOAT64, FLOAT, BOOL
    mixed, shifted, low = ("mixed", "scrambled"), ("shifted", "spread"), ("low_bits", "masked", "field")
    table = [
        # wp.uint32: wrapping arithmetic and bit operations
        (U, "({0} ^ {1})", (U, U), 2.0, mixed),
        (U, "({0} & {1})", (U, U), 1.5, ("common_bits", "overlap")),
        (U, "({0} | {1})", (U, U), 1.5, ("merged", "union_bits")),
        (U, "(~{0})", (U,), 0.4, ("inverted", "complement")),
        (U, f"({{0}} << {_u(s1)})", (U,), 1.5, shifted),
        (U, f"({{0}} >> {_u(s2)})", (U,), 1.5, ("high_bits", "top")),
        (U, f"({{0}} ^ ({{0}} >> {_u(s2)}))", (U,), 0.7, ("folded", "avalanche")),
        (U, f"({{0}} * {_m(odd)})", (U,), 1.0, ("product_bits", "multiplied")),
        (U, "({0} + {1})", (U, U), 1.0, ("sum_bits", "wrapped_sum")),
        (U, f"({{0}} & {_u(mask)})", (U,), 0.5, low),
        (U, f"({{0}} & {_u(mask2)})", (U,), 0.5, low),
        (U, f"({{0}} % {_u(c)})", (U,), 0.3, ("residue", "slot_bits")),
        (U, f"({{0}} % {_u(c2)})", (U,), 0.2, ("residue", "slot_bits")),
        (U, f"({{0}} // {_u(c)})", (U,), 0.3, ("quotient", "block_bits")),
        (U, "wp.max({0}, {1})", (U, U), 0.3, ("larger", "upper_bits")),
        (U, "wp.min({0}, {1})", (U, U), 0.3, ("smaller", "lower_bits")),
        (U, "wp.uint32({0})", (N,), 1.0, ("as_bits", "unsigned")),
        (U, "wp.uint32({0} & wp.int64(0x7FFFFFFF))", (L,), 0.4, ("low_word", "truncated")),
        (U, "wp.uint32(wp.round(wp.clamp({0}, 0.0, 1.0) * 255.0))", (F,), 0.4, ("quantized", "byte_value")),
        # int: non-negative masks before shifts, division and modulo by positive constants
        (N, "({0} + {1})", (N, N), 1.5, ("total", "combined")),
        (N, "({0} - {1})", (N, N), 1.0, ("diff", "gap")),
        (N, f"({{0}} * {rng.randint(2, 9)})", (N,), 0.7, ("scaled", "stride")),
        (N, f"({{0}} & 0x{mask:X})", (N,), 0.5, low),
        (N, f"({{0}} & 0x{mask2:X})", (N,), 0.5, low),
        (N, "({0} | {1})", (N, N), 0.7, ("flags", "merged_flags")),
        (N, "({0} ^ {1})", (N, N), 0.7, ("toggled", "parity_bits")),
        (N, f"(({{0}} & 0xFFFF) << {s1})", (N,), 0.7, shifted),
        (N, f"(({{0}} & 0x7FFFFFFF) >> {s2})", (N,), 0.7, ("coarse", "high_part")),
        (N, f"({{0}} // {c})", (N,), 0.7, ("block", "row")),
        (N, f"({{0}} % {c})", (N,), 0.4, ("lane", "column")),
        (N, f"({{0}} % {c2})", (N,), 0.3, ("lane", "column")),
        (N, "wp.abs({0})", (N,), 0.3, ("distance", "steps")),
        (N, "wp.min({0}, {1})", (N, N), 0.4, ("first", "lower")),
        (N, "wp.max({0}, {1})", (N, N), 0.4, ("last", "upper")),
        (N, "wp.bit_count({0})", (U,), 0.8, ("popcount", "set_bits")),
        (N, "wp.int32({0} >> wp.uint32(1))", (U,), 0.4, ("half_key", "signed_bits")),
        (N, "int({0} & wp.uint32(0xFFFF))", (U,), 0.8, ("low_half", "short_key")),
        (N, f"int({{0}} % wp.int64({c}))", (L,), 0.4, ("remainder", "phase")),
        # wp.int64: widening, scaled products kept far from overflow
        (L, "wp.int64({0})", (N,), 1.5, ("widened", "wide")),
        (L, "wp.int64({0})", (U,), 1.0, ("widened_bits", "wide_key")),
        (L, "({0} + {1})", (L, L), 1.5, ("wide_sum", "total64")),
        (L, "({0} - {1})", (L, L), 1.0, ("wide_diff", "elapsed")),
        (L, f"(({{0}} % wp.int64(1048576)) * wp.int64({rng.randint(3, 97)}))", (L,), 0.8, ("wide_scaled",)),
        (L, f"({{0}} // wp.int64({c}))", (L,), 0.6, ("wide_block", "period")),
        (L, f"(({{0}} & wp.int64(0xFFFFFF)) << wp.int64({s1}))", (L,), 0.6, ("wide_shifted",)),
        (L, f"(({{0}} & wp.int64(0x7FFFFFFF)) >> wp.int64({s2}))", (L,), 0.6, ("wide_coarse",)),
        (L, "wp.int64(wp.round({0} * wp.float64(1024.0)))", (D,), 0.4, ("fixed", "fixed_point")),
        # wp.float64
        (D, "({0} + {1})", (D, D), 1.5, ("precise_sum", "accumulated")),
        (D, "({0} - {1})", (D, D), 1.0, ("precise_diff", "residual")),
        (D, f"({{0}} * wp.float64({w.small(0.25, 2.0)}))", (D,), 1.0, ("precise_scaled",)),
        (D, "({0} / (wp.float64(1.0) + wp.abs({1})))", (D, D), 0.7, ("precise_ratio",)),
        (D, "wp.sqrt(wp.abs({0}) + wp.float64(1.0))", (D,), 0.4, ("precise_root",)),
        (D, "wp.sin({0})", (D,), 0.4, ("precise_wave",)),
        (D, "wp.tanh({0})", (D,), 0.3, ("precise_squashed",)),
        (D, "wp.float64({0})", (F,), 1.0, ("promoted", "precise")),
        (D, "wp.float64({0})", (N,), 0.7, ("count_f64", "precise_count")),
        (D, "(wp.float64({0}) * wp.float64(2.3283064365386963e-10))", (U,), 0.5, ("unit_f64", "fraction64")),
        (D, "wp.float64({0})", (L,), 0.5, ("wide_f64",)),
        # float32 results
        (F, "({0} + {1})", (F, F), 1.5, ("total", "sum_value")),
        (F, "({0} * {1})", (F, F), 0.7, ("scaled", "product")),
        (F, "({0} - {1})", (F, F), 1.0, ("diff", "delta")),
        (F, "float({0})", (N,), 1.5, ("count_f", "as_float")),
        (F, "(float({0} >> wp.uint32(8)) / 16777216.0)", (U,), 1.0, ("unit", "uniform")),
        (F, "wp.float32({0})", (D,), 1.0, ("rounded", "single")),
        (F, f"float({{0}} % wp.int64({c}))", (L,), 0.5, ("phase_f", "remainder_f")),
        # conditions on bits
        (B, f"(({{0}} & {_u(1 << rng.randint(0, 15))}) != wp.uint32(0))", (U,), 1.0, ("has_flag", "bit_set")),
        (B, f"((({{0}} >> {rng.randint(1, 7)}) & 1) == 1)", (N,), 1.0, ("odd_field", "bit_on")),
        (B, "({0} < {1})", (U, U), 0.5, ("earlier", "ordered")),
        (B, f"({{0}} % {rng.randint(2, 4)} == 0)", (N,), 0.5, ("aligned", "on_stride")),
    ]
    w.add_productions(*(Production(r, tpl, ops, "bitwise", wt, names) for r, tpl, ops, wt, names in table))


# ----------------------------------------------------------------------------- operands


def _value(w: KernelWriter, t: WarpType, exclude: tuple[str, ...] = (), *, any_source: bool = False) -> str | None:
    """A variable of type ``t`` that depends on the kernel's inputs (with ``any_source``, any but a thread index):
    one nothing has read yet if there is one, else the least read."""
    skip = {*w.tid_vars, *exclude}
    names = [n for n in w.values_of(t) if n not in skip]
    if not any_source:
        skip |= {n for n in names if not w.deps(n)}
    if not [n for n in names if n not in skip]:
        return None
    return w.expr(t, 0, exclude=tuple(sorted(skip)))


def _paren(text: str) -> str:
    """``text``, in parentheses unless it is a name, a call or a subscript."""
    node = ast.parse(text, mode="eval").body
    return text if isinstance(node, (ast.Name, ast.Call, ast.Subscript)) else f"({text})"


def _bare(text: str) -> str:
    """``text`` without the parentheses ``_uint`` puts around a salted word."""
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


#: How a variable of each type becomes a ``wp.uint32`` word (``{q}``: the largest value of a quantized float).
_WORD_FORMS = (
    (UINT32, "{v}"),
    (INT, "wp.uint32({v})"),
    (INT64, "wp.uint32({v} & wp.int64(0x7FFFFFFF))"),
    (FLOAT, "wp.uint32(wp.round(wp.clamp({v} * 0.5 + 0.5, 0.0, 1.0) * {q}))"),
    (FLOAT64, "wp.uint32(wp.round(wp.clamp(wp.float32({v}) * 0.5 + 0.5, 0.0, 1.0) * {q}))"),
)


def _words(w: KernelWriter, count: int, top: int = 0xFFFF, exclude: tuple[str, ...] = ()) -> list[str]:
    """Up to ``count`` ``wp.uint32`` words, each read from a different variable that depends on the data
    (values nothing has read yet first); floats are quantized to ``[0, top]``."""
    used: list[str] = list(exclude)
    words = []
    for _ in range(count):
        pending = set(w.pending()) - set(used)
        forms = sorted(_WORD_FORMS, key=lambda f: not any(n in pending for n in w.values_of(f[0])))
        for t, form in forms:
            v = _value(w, t, tuple(used))
            if v is not None:
                used.append(v)
                words.append(form.format(v=v, q=float(top)))
                break
        else:
            break
    return words


def _uint(w: KernelWriter) -> str:
    """A ``wp.uint32`` to work on, read from the data."""
    words = _words(w, 1)
    return words[0] if words else _value(w, UINT32, any_source=True) or "wp.uint32(i)"


#: How a variable of each type becomes a non-negative ``int``.
_INT_FORMS = (
    (UINT32, "int({v} & wp.uint32(0xFFFF))"),
    (INT64, "int({v} % wp.int64(65536))"),
    (FLOAT, "int(wp.abs({v}) * 1000.0)"),
    (FLOAT64, "int(wp.abs({v}) * wp.float64(1000.0))"),
)


def _int(w: KernelWriter) -> str:
    """An ``int`` read from the data: an int variable, else one made from a word, a wide int or a float."""
    n = _value(w, INT)
    if n is not None:
        return n
    for t, form in _INT_FORMS:
        v = _value(w, t)
        if v is not None:
            return form.format(v=v)
    return _value(w, INT, any_source=True) or "i"


def _loop_var(w: KernelWriter, *names: str) -> str:
    return w.name(*names, "bit", "b", "step", "lane", "pos", "r")


def _abs(n: str) -> str:
    """``wp.abs(n)``, unless ``n`` is the low half of a word (already non-negative)."""
    return n if n.endswith("& wp.uint32(0xFFFF))") else f"wp.abs({n})"


# ----------------------------------------------------------------------------- motifs


def _hash(w: KernelWriter) -> None:
    """Integer hashing: a chain of xorshift / multiply / add / rotate rounds, or a PCG-style permutation."""
    rng = w.rng
    key = _uint(w)
    if rng.random() < 0.4:  # a per-launch seed, as in Warp's random number generators
        key = f"{_paren(key)} ^ {w.param(UINT32, ('seed', 'salt', 'hash_seed'), recipe={'low': 0, 'high': 65536})}"
        key = f"({key})"
    start = key if rng.random() < 0.5 else f"{key} * {_m(rng.choice(_ODD))} + {_m(rng.choice(_ODD))}"
    h = w.let(("h", "hashed", "state", "mixed_key", "scrambled"), start, UINT32)
    style = rng.random()
    if style < 0.2:  # 64-bit mixing, folded back to 32 bits
        wide = w.let(("wide_state", "mix64", "state64"), f"wp.uint64({h}) * wp.uint64({rng.choice(_ODD)})", UINT64)
        for shift in rng.sample((29, 31, 32, 33), 2):
            w.emit(f"{wide} ^= {wide} >> wp.uint64({shift})")
            w.emit(f"{wide} *= wp.uint64({rng.choice(_ODD)})")
        w.set(h, f"wp.uint32({wide} ^ ({wide} >> wp.uint64(32)))")
    elif style < 0.45:
        w.set(h, f"{h} * {_m(747796405)} + {_m(rng.choice(_ODD))}")
        w.set(h, f"(({h} >> (({h} >> {_u(28)}) + {_u(4)})) ^ {h}) * {_m(277803737)}")
        w.set(h, f"({h} >> {_u(22)}) ^ {h}")
    else:
        previous = None
        for _ in range(rng.randint(2, 3 + w.level)):
            op = rng.choice([o for o in ("xl", "xr", "xr", "mul", "add", "rot", "wang") if o != previous])
            previous = op
            s = rng.randint(1, 17)
            if op == "xl":
                w.emit(f"{h} ^= {h} << {_u(s)}")
            elif op == "xr":
                w.emit(f"{h} ^= {h} >> {_u(s)}")
            elif op == "mul":
                w.emit(f"{h} *= {_m(rng.choice(_ODD))}")
            elif op == "add":
                w.emit(f"{h} += {_m(rng.randint(1, 2**31 - 1))}")
            elif op == "rot":
                w.set(h, f"({h} << {_u(s)}) | ({h} >> {_u(32 - s)})")
            else:
                w.set(h, f"({h} ^ {_u(61)}) ^ ({h} >> {_u(16)})")
    use = rng.random()
    if use < 0.4:
        w.let(("u", "unit", "uniform"), f"float({h} >> {_u(8)}) / 16777216.0", FLOAT)
    elif use < 0.7:
        w.let(("bucket", "slot", "shard"), f"int({h} % {_u(rng.choice((8, 16, 64, 100)))})", INT)


def _pack(w: KernelWriter) -> None:
    """Bit packing: bytes, nibbles or halves of several values into one ``wp.uint32`` (or the bytes of one word
    in reverse order), then one field back out."""
    rng = w.rng
    width = rng.choice((8, 8, 16, 4))
    field_mask = (1 << width) - 1
    sources = _words(w, min(32 // width, rng.randint(2, 4)), field_mask)
    swap = len(sources) < 2
    if swap:  # one word: its bytes (or halves), reassembled in reverse order
        width = max(width, 8)
        field_mask = (1 << width) - 1
        word = _uint(w) if not sources else sources[0]
        sources = [f"({word} >> {_u(width * k)})" if k else word for k in range(32 // width)]
    names = _FIELD_NAMES[len(sources)]
    fields = [w.let(names[n], f"{_paren(src)} & {_u(field_mask)}", UINT32) for n, src in enumerate(sources)]
    order = fields[::-1] if swap else fields
    packed = " | ".join(f if k == 0 else f"({f} << {_u(width * k)})" for k, f in enumerate(order))
    p = w.let(("swapped", "reversed_word") if swap else ("packed", "packed_word", "record"), packed, UINT32)
    k = rng.randrange(1, len(fields))
    unpacked = w.let(("field", "unpacked"), f"({p} >> {_u(width * k)}) & {_u(field_mask)}", UINT32)
    if rng.random() < 0.5:
        w.let(("level", "fraction"), f"float({unpacked}) / {float(field_mask)}", FLOAT)
    else:
        narrow = WarpType("uint8", "wp.uint8") if width <= 8 else WarpType("uint16", "wp.uint16")
        small = w.let(("byte_value", "narrow"), f"{narrow.annotation}({unpacked})", narrow)
        w.let(("level_index", "channel"), f"int({small}) + {rng.randint(1, 3)}", INT)


def _flags(w: KernelWriter) -> None:
    """Flag words: test, set, clear and toggle bits; lowest set bit; power-of-two test; atomic OR/AND/XOR."""
    rng = w.rng
    flags = w.let(("flags", "state_bits", "status"), _uint(w), UINT32)
    for position in rng.sample(range(31), rng.randint(1, 2 + w.level // 2)):
        bit = _u(1 << position)
        op = rng.choice(("set", "clear", "toggle", "test"))
        if op == "set":
            w.set(flags, f"{flags} | {bit}")
        elif op == "clear":  # and with the complement, written out (~ of a constant is a constant)
            w.set(flags, f"{flags} & {_u(0xFFFFFFFF ^ (1 << position))}")
        elif op == "toggle":
            w.emit(f"{flags} ^= {bit}")
        elif w.can_nest:
            counters = [n for n in w.pending(INT) if not w.has_arg(n)]
            with w.block(f"if ({flags} & {bit}) != wp.uint32(0)"):
                if counters:
                    w.set(counters[-1], f"{counters[-1]} + 1")
                else:
                    w.set(flags, f"{flags} >> {_u(1)}")
    extra = rng.random()
    if extra < 0.3:
        w.let(("lowest_bit", "first_flag"), f"{flags} & (~{flags} + {_u(1)})", UINT32)
    elif extra < 0.5:
        test = f"{flags} != wp.uint32(0) and ({flags} & ({flags} - {_u(1)})) == wp.uint32(0)"
        single = w.let(("is_single", "one_flag"), test, BOOL)
        w.let(("single_count", "exclusive"), f"wp.where({single}, 1, 0)", INT)
    if rng.random() < 0.5:
        op = rng.choice(("wp.atomic_or", "wp.atomic_or", "wp.atomic_xor", "wp.atomic_and"))
        words = w.output_array(UINT32, ("mask_words", "flag_words"))
        lanes = rng.choice((1, 4, 8))
        w.atomic(op, words, "0" if lanes == 1 else f"i % {lanes}", flags)


def _spread_helper(w: KernelWriter, dims: int) -> str:
    """The ``@wp.func`` spreading the bits of a coordinate ``dims - 1`` apart (magic numbers)."""
    if dims == 3:
        steps, first = ((16, 0x030000FF), (8, 0x0300F00F), (4, 0x030C30C3), (2, 0x09249249)), 0x3FF
    else:
        steps, first = ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555)), 0xFFFF
    lines = ["@wp.func", "def NAME(n: wp.uint32):", f"    x = n & {_u(first)}"]
    lines += [f"    x = (x | (x << {_u(s)})) & {_u(m)}" for s, m in steps]
    lines.append("    return x")
    return w.helper(f"part1by{dims - 1}", "\n".join(lines))


def _morton(w: KernelWriter) -> None:
    """Morton (Z-order) codes from quantized coordinates: magic-number bit spreading or an interleaving loop."""
    rng = w.rng
    dims = rng.choice((2, 3))
    bits = 10 if dims == 3 else rng.choice((8, 16))
    top = (1 << bits) - 1
    sources = _words(w, dims, top)
    while len(sources) < dims:  # too few values: the cell of a row-major thread index
        a = len(sources)
        sources.append(f"wp.uint32(i) >> {_u(bits * a)}" if a else "wp.uint32(i)")
    coords = [w.let(("cx", "cy", "cz")[a], f"{_paren(src)} & {_u(top)}", UINT32) for a, src in enumerate(sources)]
    if rng.random() < 0.6 and bits <= 16:
        spread = _spread_helper(w, dims)
        parts = [f"{spread}({x})" if a == 0 else f"({spread}({x}) << {_u(a)})" for a, x in enumerate(coords)]
        m = w.let(("morton", "z_code", "code"), " | ".join(parts), UINT32)
    else:
        m = w.let(("morton", "z_code", "code"), _u(0), UINT32)
        var = _loop_var(w)
        with w.block(f"for {var} in range({min(bits, 32 // dims)})"):
            w.define(var, INT)
            for a, x in enumerate(coords):
                shift = f"{_u(dims)} * wp.uint32({var}) + {_u(a)}" if a else f"{_u(dims)} * wp.uint32({var})"
                w.emit(f"{m} |= (({x} >> wp.uint32({var})) & {_u(1)}) << ({shift})")
    if rng.random() < 0.4:  # the x coordinate of the next cell along the curve: every dims-th bit of code + 1
        succ = w.let(("next_code", "successor"), f"{m} + {_u(1)}", UINT32)
        back = w.let(("next_x", "decoded_x"), _u(0), UINT32)
        var = _loop_var(w)
        with w.block(f"for {var} in range({min(bits, 32 // dims)})"):
            w.define(var, INT)
            w.emit(f"{back} |= (({succ} >> ({_u(dims)} * wp.uint32({var}))) & {_u(1)}) << wp.uint32({var})")
        w.let(("step_x", "jump_x"), f"int({back}) - int({coords[0]})", INT)


def _popcount(w: KernelWriter) -> None:
    """Population count and friends: a bit loop, Kernighan's loop, SWAR, ``wp.bit_count``, parity, MSB."""
    rng = w.rng
    v = _uint(w)
    kind = rng.choice(("loop", "kernighan", "swar", "builtin", "msb"))
    names = ("ones", "popcount", "set_bits")
    if kind == "loop":
        n = w.let(names, "int(0)", INT)
        var = _loop_var(w)
        with w.block(f"for {var} in range(32)"):
            w.define(var, INT)
            w.emit(f"{n} += int(({v} >> wp.uint32({var})) & {_u(1)})")
    elif kind == "kernighan":  # in a helper: the loop runs its word down to zero
        source = "\n".join(
            (
                "@wp.func",
                "def NAME(word: wp.uint32):",
                "    rest = word",
                "    count = int(0)",
                "    while rest != wp.uint32(0):",
                "        rest &= rest - wp.uint32(1)  # clear the lowest set bit",
                "        count += 1",
                "    return count",
            )
        )
        n = w.let(names, f"{w.helper('popcount', source)}({_bare(v)})", INT)
    elif kind == "swar":
        word = w.let(("word_in", "source_bits"), _bare(v), UINT32) if v.startswith("(") else v
        x = w.let(("pairs", "partial"), f"{word} - (({word} >> {_u(1)}) & {_u(0x55555555)})", UINT32)
        w.set(x, f"({x} & {_u(0x33333333)}) + (({x} >> {_u(2)}) & {_u(0x33333333)})")
        n = w.let(names, f"int(((({x} + ({x} >> {_u(4)})) & {_u(0x0F0F0F0F)}) * {_u(0x01010101)}) >> {_u(24)})", INT)
    elif kind == "builtin":
        n = w.let(names, f"wp.bit_count({v})", INT)
    else:
        n = w.let(("msb", "top_bit", "highest"), "int(-1)", INT)
        var = _loop_var(w)
        with w.block(f"for {var} in range(32)"):
            w.define(var, INT)
            with w.block(f"if (({v} >> wp.uint32({var})) & {_u(1)}) != wp.uint32(0)"):
                w.set(n, var)
    if rng.random() < 0.4:
        w.let(("parity", "odd_count"), f"{n} & 1", INT)


def _divmod(w: KernelWriter) -> None:
    """Integer division and modulo: grid coordinates, digit sums, gcd, Collatz steps, bucket sizes."""
    rng = w.rng
    n = _int(w)
    kind = rng.choice(("grid", "digits", "gcd", "collatz", "ceil_div"))
    if kind == "grid":  # row-major cell -> transposed (column-major) cell
        width = rng.choice((4, 8, 16))
        cell = w.let(("cell", "flat"), _abs(n), INT) if n != "i" else n
        row = w.let(("row", "r"), f"{cell} // {width}", INT)
        col = w.let(("col", "c"), f"{cell} % {width}", INT)
        w.let(("transposed", "col_major"), f"{col} * {rng.choice((4, 8, 16, 64))} + {row}", INT)
    elif kind == "digits":
        base = rng.choice((2, 3, 8, 10, 16))
        m = w.let(("rest", "number"), f"{_abs(n)} * {rng.randint(11, 997)}", INT)
        s = w.let(("digit_sum", "digits"), "int(0)", INT)
        var = _loop_var(w, "digit", "d")
        with w.block(f"for {var} in range({rng.randint(3, 8)})"):
            w.define(var, INT)
            w.emit(f"{s} += {m} % {base}")
            w.set(m, f"{m} // {base}")
    elif kind == "gcd":
        other = _value(w, INT, (n,)) or f"i + {rng.randint(1, 9)}"
        num = w.let(("num", "numerator"), f"{_abs(n)} + {rng.randint(1, 30)}", INT)
        den = w.let(("den", "denominator"), f"wp.abs({other}) + {rng.randint(1, 30)}", INT)
        a, b = w.let(("a", "larger"), num, INT), w.let(("b", "smaller"), den, INT)
        var = _loop_var(w, "iteration", "step")
        with w.block(f"for {var} in range({rng.randint(8, 16)})"):
            w.define(var, INT)
            with w.block(f"if {b} != 0"):
                r = w.let(("remainder", "rem"), f"{a} % {b}", INT)
                w.set(a, b)
                w.set(b, r)
        w.let(("reduced_num", "num_reduced"), f"{num} // {a}", INT)  # the fraction num / den in lowest terms
        w.let(("reduced_den", "den_reduced"), f"{den} // {a}", INT)
    elif kind == "collatz":
        x = w.let(("x", "orbit"), f"({_abs(n)} & 0xFF) + 1", INT)
        steps = w.let(("steps", "stopping_time"), "int(0)", INT)
        var = _loop_var(w, "step", "iteration")
        with w.block(f"for {var} in range({rng.randint(8, 24)})"):
            w.define(var, INT)
            with w.block(f"if {x} > 1"):
                w.set(x, f"wp.where({x} % 2 == 0, {x} // 2, 3 * {x} + 1)")
                w.emit(f"{steps} += 1")
    else:
        d = rng.choice((3, 4, 7, 32))
        total = w.let(("items", "total_items"), f"{_abs(n)} + {rng.randint(1, 100)}", INT)
        w.let(("blocks", "groups"), f"({total} + {d - 1}) // {d}", INT)
        w.let(("tail", "leftover"), f"{total} - ({total} // {d}) * {d}", INT)


def _widths(w: KernelWriter) -> None:
    """Width conversions: 64-bit integer accumulation, double-precision sums, narrow saturating casts."""
    rng = w.rng
    kind = rng.choice(("int64", "float64", "narrow", "fixed", "half"))
    if kind == "half":  # round-trip through half precision; the value comes from integers, not a float input
        n = _int(w)
        scale = w.coeff("scale", 0.01, 0.5)
        f = w.let(("x", "sample_f"), f"float({n}) * {scale} + {w.small(0.1, 1.0)}", FLOAT)
        half = w.let(("half", "half_value"), f"wp.float16({f})", _F16)
        w.let(("rounding_error", "half_error"), f"wp.float32({half}) - {f}", FLOAT)
    elif kind == "int64":
        n = _int(w)
        acc = w.let(("acc64", "wide_sum", "total64"), "wp.int64(0)", INT64)
        var = _loop_var(w, "k", "term")
        with w.block(f"for {var} in range({rng.randint(2, 8)})"):
            w.define(var, INT)
            factor = rng.choice((1000, 65536, 1000003, 2147483))
            w.emit(f"{acc} += wp.int64({n} + {var}) * wp.int64({factor})")
        w.let(("checksum", "residue"), f"int({acc} % wp.int64({rng.choice((7, 97, 1000))}))", INT)
    elif kind == "float64":
        src = _value(w, FLOAT64) or _value(w, FLOAT) or f"float({_int(w)})"
        acc = w.let(("series", "precise_sum"), "wp.float64(0.0)", FLOAT64)
        var = _loop_var(w, "k", "term")
        with w.block(f"for {var} in range({rng.randint(2, 10)})"):
            w.define(var, INT)
            term = f"wp.float64({src}) * wp.float64({w.small(0.1, 1.0)}) / wp.float64({var} + 1)"
            w.emit(f"{acc} += {term}")
        w.let(("single", "series_f32"), f"wp.float32({acc})", FLOAT)
    elif kind == "narrow":
        n = _int(w)
        ann, lo, hi = rng.choice(
            (("wp.int16", -32768, 32767), ("wp.int8", -128, 127), ("wp.uint8", 0, 255), ("wp.uint16", 0, 65535))
        )
        value = f"{ann}(wp.clamp({n} * {rng.randint(3, 5000)}, {lo}, {hi}))"
        small = w.let(("saturated", "narrow_value"), value, WarpType(ann[3:], ann))
        w.let(("widened_back", "restored"), f"int({small})", INT)
    else:  # fixed point: 16.16 in an int64, then back
        f = _value(w, FLOAT)
        src = _value(w, FLOAT64) or (f"wp.float64({f})" if f else f"wp.float64({_int(w)}) * wp.float64(0.1)")
        fx = w.let(("fixed", "fixed_16_16"), f"wp.int64(wp.round({src} * wp.float64(65536.0)))", INT64)
        w.let(("dequantized", "from_fixed"), f"wp.float64({fx}) / wp.float64(65536.0)", FLOAT64)


def _float_bits(w: KernelWriter) -> None:
    """IEEE-754 bit tricks with ``wp.cast``: sign/exponent/mantissa fields, sign flips, fast inverse sqrt."""
    rng = w.rng
    # the float comes from integers and a coefficient: wp.cast has no adjoint, so a float input array read
    # through it would make the kernel look differentiable while its gradient is silently zero
    scaled = f"float({_int(w)}) * {w.coeff('scale', 0.01, 0.2)}"
    kind = rng.choice(("fields", "sign", "rsqrt"))
    if kind == "rsqrt":
        x = w.let(("x", "radius_sq"), f"wp.abs({scaled}) + {w.small(0.1, 1.0)}", FLOAT)
        bits = w.let(("x_bits", "float_bits"), f"wp.cast({x}, wp.uint32)", UINT32)
        y = w.let(("inv_sqrt", "y"), f"wp.cast({_u(0x5F3759DF)} - ({bits} >> {_u(1)}), wp.float32)", FLOAT)
        for _ in range(rng.randint(1, 2)):  # Newton steps
            w.set(y, f"{y} * (1.5 - 0.5 * {x} * {y} * {y})")
        return
    value = w.let(("x", "real_value"), f"{scaled} + {w.small(0.1, 0.5)}", FLOAT)
    bits = w.let(("x_bits", "float_bits"), f"wp.cast({value}, wp.uint32)", UINT32)
    if kind == "fields":
        w.let(("exponent", "exp_field"), f"int(({bits} >> {_u(23)}) & {_u(0xFF)}) - 127", INT)
        w.let(("mantissa", "fraction_bits"), f"{bits} & {_u(0x7FFFFF)}", UINT32)
        w.let(("sign", "is_negative"), f"int({bits} >> {_u(31)})", INT)
    elif rng.random() < 0.5:  # |x| by clearing the sign bit
        w.let(("magnitude", "abs_value"), f"wp.cast({bits} & {_u(0x7FFFFFFF)}, wp.float32)", FLOAT)
    else:  # -x by toggling the sign bit
        w.let(("negated", "flipped"), f"wp.cast({bits} ^ {_u(1 << 31)}, wp.float32)", FLOAT)


def _atomics(w: KernelWriter) -> None:
    """Integer atomics: histogram counts, min/max over buckets."""
    rng = w.rng
    key = _int(w)
    counts = w.output_array(INT, ("hist", "histogram", "bin_counts"))
    bucket = w.let(("bin_index", "bucket_id"), f"({key} & 0x7FFFFFFF) % {counts}.shape[0]", INT)
    op = rng.choice(("wp.atomic_add", "wp.atomic_add", "wp.atomic_max", "wp.atomic_min"))
    if op == "wp.atomic_add":  # the count before this thread's: its rank among the keys of its bin
        value = "1" if w.deps(bucket) and rng.random() < 0.6 else _int(w)
        rank = w.let(("rank", "arrival"), f"{op}({counts}, {bucket}, {value})", INT)
        w.let(("sort_key", "order_key"), f"{bucket} * 64 + wp.min({rank}, 63)", INT)
    else:  # did this thread raise (lower) its bin's running maximum (minimum)?
        value = w.let(("score", "candidate"), w.expr(INT, 2), INT)
        previous = w.let(("previous", "old_best"), f"{op}({counts}, {bucket}, {value})", INT)
        better = ">" if op == "wp.atomic_max" else "<"
        w.let(("improved", "new_best"), f"wp.where({value} {better} {previous}, 1, 0)", INT)


def _hash_table(w: KernelWriter) -> None:
    """Insert a key into an open-addressing hash table with ``wp.atomic_cas`` and linear probing."""
    rng = w.rng
    keys = w.output_array(INT, ("table_keys", "slots"), recipe={"low": -1, "high": 0})  # -1 marks an empty slot
    key = w.let(("entry", "insert_key"), f"({_int(w)} & 0xFFFF) * {rng.randint(2, 64)} + i", INT)
    h = w.let(("slot_hash", "probe_hash"), f"wp.uint32({key}) * {_m(rng.choice(_ODD))}", UINT32)
    slot = w.let(("slot", "home"), f"int({h} >> {_u(16)}) % {keys}.shape[0]", INT)
    probes = w.let(("probes", "probe_count"), "int(0)", INT)
    var = w.name("attempt", "probe", "tries")
    with w.block(f"for {var} in range({rng.choice((4, 8, 16))})"):
        w.define(var, INT)
        prev = w.let(("prev", "occupant"), f"wp.atomic_cas({keys}, {slot}, -1, {key})", INT)
        with w.block(f"if {prev} == -1 or {prev} == {key}"):
            w.emit("break")
        w.set(slot, f"({slot} + 1) % {keys}.shape[0]")
        w.emit(f"{probes} += 1")
    if rng.random() < 0.5:
        owner = w.output_array(INT, ("owner", "slot_owner"))
        w.atomic("wp.atomic_exch", owner, slot, "i")


#: name -> (motif, weight)
_MOTIFS: dict[str, tuple[Callable[[KernelWriter], None], float]] = {
    "hash": (_hash, 2.5),
    "pack": (_pack, 1.5),
    "flags": (_flags, 1.5),
    "morton": (_morton, 1.5),
    "popcount": (_popcount, 1.5),
    "divmod": (_divmod, 1.5),
    "widths": (_widths, 1.5),
    "float_bits": (_float_bits, 1.0),
    "atomics": (_atomics, 0.8),
    "hash_table": (_hash_table, 0.7),
}


def _store(w: KernelWriter) -> None:
    """One output per type that has unread values: ``out[i]`` folds them (XOR for words, sums otherwise);
    the last output also folds whatever else is still unread."""
    rng = w.rng
    stored = False
    while True:
        groups = [t for t in _OUTPUT_TYPES if w.pending(t)]
        if not groups and stored and not w.pending():
            return
        t = (groups or [UINT32])[0]
        last = len(groups) <= 1
        terms = w.pending(t)
        joiner = " ^ " if t is UINT32 and rng.random() < 0.6 else " + "
        value = joiner.join(terms) if terms else None
        if last:
            value = w.result(t, 2, base=value)
        elif len(terms) > 1 and rng.random() < 0.3:
            others = [n for n in w.pending() if w.scope[n] != t]
            value = f"{value}{joiner}{w.expr(t, 1, exclude=others, consume=())}"
        w.store(output(w, VOCABULARY, t), "i", value)
        stored = True
        if last:
            return


@register_category("bitwise", groups={"bitwise"})
def bitwise(w: KernelWriter) -> None:
    """Integer and bit-level work: & | ^ ~ << >>, hashing, packing, masks, Morton codes, popcount, widths."""
    rng = w.rng
    VOCABULARY.apply(w)
    _productions(w)
    for _ in range(rng.randint(1, w.limits.inputs)):
        load_input(w, VOCABULARY, rng.choice((UINT32, UINT32, INT, INT, INT64, FLOAT64, FLOAT)))
    w.add_helpers((UINT32, INT))
    count = {1: 1, 2: rng.randint(1, 2), 3: 2, 4: rng.randint(2, 3), 5: 3}[w.level]
    straight_line(w, (UINT32, INT, INT64, FLOAT64), rng.randint(0, w.limits.statements // 3))
    for name in w.pick({name: weight for name, (_, weight) in _MOTIFS.items()}, count):
        _MOTIFS[name][0](w)
    straight_line(w, (UINT32, UINT32, INT, INT64, FLOAT64, FLOAT), rng.randint(0, w.limits.statements // 3))
    _store(w)
