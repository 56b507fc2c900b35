"""The ``bitwise`` category: integer and bit-level work across Warp's scalar widths.

Kernels read integer arrays (``int``, ``wp.uint32``, ``wp.int64``; sometimes ``float``/``wp.float64``), and
chain a few rng-chosen motifs: integer hashing (xorshift / multiply / rotate / PCG-style rounds on
``wp.uint32``), bit packing and unpacking, flag masks (test / set / clear / toggle, atomics), Morton
codes (magic-number spreading in a ``@wp.func`` or a bit loop), population counts (bit loop, Kernighan,
SWAR, ``wp.bit_count``), integer division and modulo by positive constants (digit sums, gcd, Collatz),
width conversions (``wp.int64`` accumulation, ``wp.float64`` fixed point, narrow ``uint8``/``int16``
values) and IEEE bit tricks with ``wp.cast``.

Literals carry their width (``wp.uint32(13)``) because Warp does not mix integer types. Undefined
behaviour is avoided by construction: shifts are by constants or by values masked below the width,
signed values are masked non-negative before shifting, divisors are positive, float-to-integer
conversions are clamped and rounded, and constants stay below 2**31.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..category import register_category
from ..expressions import Production
from ..types import BOOL, FLOAT, FLOAT64, INT, INT64, UINT32, WarpType, float_literal
from ..writer import KernelWriter

#: Odd multipliers below 2**31 from well-known hashes (PCG, xxHash, Wang, LCGs, lowbias32, murmur-like).
_ODD = (747796405, 277803737, 1664525, 1013904223, 73244475, 668265261, 374761393, 668265263, 2146121005, 1103515245)
_U32, _I64, _F64 = "wp.uint32", "wp.int64", "wp.float64"
_OUT_NAMES = {"float": "out", "uint32": "out_bits", "int": "out_count", "int64": "out_wide", "float64": "out_f64"}


def _u(value: int) -> str:
    """A ``wp.uint32`` literal; bit masks (and anything past 0xFFFF) are written in hex."""
    text = str(value)
    if value > 0xFFFF or (value >= 0xFF and value & (value + 1) == 0):
        text = f"0x{value:08X}" if value > 0xFFFFFF else f"0x{value:X}"
    return f"wp.uint32({text})"


def _m(value: int) -> str:
    """A ``wp.uint32`` multiplier or offset constant, in decimal as hash code usually writes them."""
    return f"wp.uint32({value})"


def _hex(value: int) -> str:
    return f"0x{value:X}"


@dataclass
class _Ctx:
    w: KernelWriter
    values: dict[str, list[str]]  # type name -> loaded input locals
    results: list[tuple[str, WarpType]] = field(default_factory=list)
    funcs: dict[str, str] = field(default_factory=dict)  # helper role -> @wp.func name
    loops: int = 0

    def value(self, t: WarpType) -> str | None:
        names = self.values.get(t.name) or self.w.locals_of(t)
        if not names:
            return None
        uses = self.w.gen.uses
        least = min(uses.get(n, 0) for n in names)
        name = self.w.rng.choice([n for n in names if uses.get(n, 0) == least])
        uses[name] = uses.get(name, 0) + 1
        return name

    def uint(self) -> str:
        """A ``wp.uint32`` to work on: an input, a local, or one made from the thread index or an int."""
        v = self.value(UINT32)
        salt = [a.name for a in self.w.args if not a.is_array and a.type is UINT32]
        if v is not None and salt and self.w.rng.random() < 0.4:
            return f"({v} ^ {salt[0]})"
        if v is not None:
            return v
        n = self.value(INT)
        return f"wp.uint32({n})" if n is not None and self.w.rng.random() < 0.5 else "wp.uint32(i)"

    def loop_var(self) -> str:
        self.loops += 1
        return ("b", "bit", "t", "r", "s")[(self.loops - 1) % 5]

    def result(self, name: str, t: WarpType) -> str:
        self.results.append((name, t))
        return name


# ----------------------------------------------------------------------------- productions


def _add_productions(w: KernelWriter) -> None:
    """Typed integer, unsigned, 64-bit and double operations, constants drawn once per kernel."""
    rng = w.rng
    s1, s2 = rng.sample(range(1, 16), 2)
    odd = rng.choice(_ODD)
    mask = rng.choice((0xFF, 0xFFF, 0xFFFF, 0x3FF, 0x7F, 0xF0F0F0F, 0x55555555, 0x33333333))
    c = rng.choice((3, 5, 7, 10, 12, 16, 100, 1000))
    U, N, L, D, F, B = UINT32, INT, INT64, FLOAT64, FLOAT, BOOL
    prods = [
        # wp.uint32: wrapping arithmetic and bit operations
        (U, "({0} ^ {1})", (U, U), 2.0),
        (U, "({0} & {1})", (U, U), 1.5),
        (U, "({0} | {1})", (U, U), 1.5),
        (U, "(~{0})", (U,), 0.4),
        (U, f"({{0}} << {_u(s1)})", (U,), 1.5),
        (U, f"({{0}} >> {_u(s2)})", (U,), 1.5),
        (U, f"({{0}} ^ ({{0}} >> {_u(s2)}))", (U,), 0.7),
        (U, f"({{0}} * {_m(odd)})", (U,), 1.0),
        (U, "({0} + {1})", (U, U), 1.0),
        (U, f"({{0}} & {_u(mask)})", (U,), 1.0),
        (U, f"({{0}} % {_u(c)})", (U,), 0.5),
        (U, f"({{0}} // {_u(c)})", (U,), 0.3),
        (U, "wp.max({0}, {1})", (U, U), 0.3),
        (U, "wp.min({0}, {1})", (U, U), 0.3),
        (U, "wp.uint32({0})", (N,), 1.0),
        (U, "wp.uint32({0} & wp.int64(0x7FFFFFFF))", (L,), 0.4),
        (U, "wp.uint32(wp.round(wp.clamp({0}, 0.0, 1.0) * 255.0))", (F,), 0.4),
        # int: non-negative masks before shifts, division and modulo by positive constants
        (N, "({0} + {1})", (N, N), 1.5),
        (N, "({0} - {1})", (N, N), 1.0),
        (N, f"({{0}} * {rng.randint(2, 9)})", (N,), 0.7),
        (N, f"({{0}} & {_hex(mask)})", (N,), 1.0),
        (N, "({0} | {1})", (N, N), 0.7),
        (N, "({0} ^ {1})", (N, N), 0.7),
        (N, f"(({{0}} & 0xFFFF) << {s1})", (N,), 0.7),
        (N, f"(({{0}} & 0x7FFFFFFF) >> {s2})", (N,), 0.7),
        (N, f"({{0}} // {c})", (N,), 0.7),
        (N, f"({{0}} % {c})", (N,), 0.7),
        (N, "wp.abs({0})", (N,), 0.3),
        (N, "wp.min({0}, {1})", (N, N), 0.4),
        (N, "wp.max({0}, {1})", (N, N), 0.4),
        (N, "wp.bit_count({0})", (U,), 0.8),
        (N, "wp.int32({0} >> wp.uint32(1))", (U,), 0.4),
        (N, "int({0} & wp.uint32(0xFFFF))", (U,), 0.8),
        (N, f"int({{0}} % wp.int64({c}))", (L,), 0.4),
        # wp.int64: widening, scaled products kept far from overflow
        (L, "wp.int64({0})", (N,), 1.5),
        (L, "wp.int64({0})", (U,), 1.0),
        (L, "({0} + {1})", (L, L), 1.5),
        (L, "({0} - {1})", (L, L), 1.0),
        (L, f"(({{0}} % wp.int64(1048576)) * wp.int64({rng.randint(3, 97)}))", (L,), 0.8),
        (L, f"({{0}} // wp.int64({c}))", (L,), 0.6),
        (L, f"(({{0}} & wp.int64(0xFFFFFF)) << wp.int64({s1}))", (L,), 0.6),
        (L, f"(({{0}} & wp.int64(0x7FFFFFFF)) >> wp.int64({s2}))", (L,), 0.6),
        (L, "wp.int64(wp.round({0} * wp.float64(1024.0)))", (D,), 0.4),
        # wp.float64
        (D, "({0} + {1})", (D, D), 1.5),
        (D, "({0} - {1})", (D, D), 1.0),
        (D, f"({{0}} * wp.float64({float_literal(rng, 0.25, 2.0)}))", (D,), 1.0),
        (D, "({0} / (wp.float64(1.0) + wp.abs({1})))", (D, D), 0.7),
        (D, "wp.sqrt(wp.abs({0}) + wp.float64(1.0))", (D,), 0.4),
        (D, "wp.sin({0})", (D,), 0.4),
        (D, "wp.tanh({0})", (D,), 0.3),
        (D, "wp.float64({0})", (F,), 1.0),
        (D, "wp.float64({0})", (N,), 0.7),
        (D, "(wp.float64({0}) * wp.float64(2.3283064365386963e-10))", (U,), 0.5),
        (D, "wp.float64({0})", (L,), 0.5),
        # float32 results
        (F, "({0} + {1})", (F, F), 1.5),
        (F, "({0} * {1})", (F, F), 0.7),
        (F, "({0} - {1})", (F, F), 1.0),
        (F, "float({0})", (N,), 1.5),
        (F, "(float({0} >> wp.uint32(8)) * 5.9604645e-08)", (U,), 1.0),
        (F, "wp.float32({0})", (D,), 1.0),
        (F, f"float({{0}} % wp.int64({c}))", (L,), 0.5),
        # conditions on bits
        (B, f"(({{0}} & {_u(1 << rng.randint(0, 15))}) != wp.uint32(0))", (U,), 1.0),
        (B, f"((({{0}} >> {rng.randint(0, 7)}) & 1) == 1)", (N,), 1.0),
        (B, "({0} < {1})", (U, U), 0.5),
        (B, f"({{0}} % {rng.randint(2, 4)} == 0)", (N,), 0.5),
    ]
    for result, template, operands, weight in prods:
        w.gen.add(Production(result, template, operands, "bitwise", weight))


# ----------------------------------------------------------------------------- motifs


def _hash(c: _Ctx) -> None:
    """Integer hashing: a chain of xorshift / multiply / add / rotate rounds, or a PCG-style permutation."""
    w, rng = c.w, c.w.rng
    key = c.uint()
    h = w.assign_value(
        key if rng.random() < 0.5 else f"{key} * {_m(rng.choice(_ODD))} + {_m(rng.choice(_ODD))}", UINT32
    )
    style = rng.random()
    if style < 0.2:  # 64-bit mixing, folded back to 32 bits
        w.emit(f"h64 = wp.uint64({h}) * wp.uint64({rng.choice(_ODD)}) + wp.uint64(i)")
        for shift in rng.sample((29, 31, 32, 33), 2):
            w.emit(f"h64 ^= h64 >> wp.uint64({shift})")
            w.emit(f"h64 *= wp.uint64({rng.choice(_ODD)})")
        w.emit(f"{h} = wp.uint32(h64 ^ (h64 >> wp.uint64(32)))")
    elif style < 0.45:
        w.emit(f"{h} = {h} * {_m(747796405)} + {_m(rng.choice(_ODD))}")
        w.emit(f"{h} = (({h} >> (({h} >> {_u(28)}) + {_u(4)})) ^ {h}) * {_m(277803737)}")
        w.emit(f"{h} = ({h} >> {_u(22)}) ^ {h}")
    else:
        for _ in range(rng.randint(2, 3 + w.level)):
            op = rng.choice(("xl", "xr", "xr", "mul", "add", "rot", "wang"))
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
                w.emit(f"{h} = ({h} << {_u(s)}) | ({h} >> {_u(32 - s)})")
            else:
                w.emit(f"{h} = ({h} ^ {_u(61)}) ^ ({h} >> {_u(16)})")
    c.result(h, UINT32)
    use = rng.random()
    if use < 0.4:
        c.result(w.assign_value(f"float({h} >> {_u(8)}) * (1.0 / 16777216.0)", FLOAT), FLOAT)
    elif use < 0.7:
        buckets = rng.choice((8, 16, 64, 100))
        c.result(w.assign_value(f"int({h} % {_u(buckets)})", INT), INT)


def _pack(c: _Ctx) -> None:
    """Bit packing: four bytes or two halves into a ``wp.uint32``, then unpacking fields back out."""
    w, rng = c.w, c.w.rng
    width = rng.choice((8, 8, 16, 4))
    count = 32 // width
    field_mask = (1 << width) - 1
    fields = []
    for n in range(min(count, rng.randint(2, 4))):
        f = c.value(FLOAT) if rng.random() < 0.3 else None
        if f is not None and width >= 8:  # quantize a float in [-1, 1] to the field's range
            src = f"wp.uint32(wp.round(wp.clamp({f} * 0.5 + 0.5, 0.0, 1.0) * {float(field_mask)}))"
        else:
            src = f"({c.uint()} + {_u(n)}) & {_u(field_mask)}" if n else f"{c.uint()} & {_u(field_mask)}"
        fields.append(w.assign_value(src, UINT32))
    packed = " | ".join(f if k == 0 else f"({f} << {_u(width * k)})" for k, f in enumerate(fields))
    p = c.result(w.assign_value(packed, UINT32), UINT32)
    k = rng.randrange(len(fields))
    shifted = f"({p} >> {_u(width * k)})" if k else p
    unpacked = w.assign_value(f"{shifted} & {_u(field_mask)}", UINT32)
    if rng.random() < 0.5:
        c.result(w.assign_value(f"float({unpacked}) / {float(field_mask)}", FLOAT), FLOAT)
    else:
        narrow = "wp.uint8" if width <= 8 else "wp.uint16"
        small = w.assign_value(f"{narrow}({unpacked})", WarpType(narrow[3:], narrow))
        c.result(w.assign_value(f"int({small}) + {rng.randint(0, 3)}", INT), INT)


def _flags(c: _Ctx) -> None:
    """Flag words: test, set, clear and toggle bits; lowest set bit; power-of-two test; atomic OR/AND/XOR."""
    w, rng = c.w, c.w.rng
    flags = w.assign_value(c.uint(), UINT32)
    for _ in range(rng.randint(1, 2 + w.level // 2)):
        bit = _u(1 << rng.randint(0, 15)) if rng.random() < 0.6 else f"({_u(1)} << {_u(rng.randint(0, 31))})"
        op = rng.choice(("set", "clear", "toggle", "test"))
        if op == "set":
            w.emit(f"{flags} = {flags} | {bit}")
        elif op == "clear":
            w.emit(f"{flags} = {flags} & ~{bit}")
        elif op == "toggle":
            w.emit(f"{flags} ^= {bit}")
        elif w.can_nest:
            with w.block(f"if ({flags} & {bit}) != wp.uint32(0)"):
                target = next((n for n, t in reversed(c.results) if t is INT), None)
                if target is None:
                    w.emit(f"{flags} = {flags} >> {_u(1)}")
                else:
                    w.emit(f"{target} = {target} + 1")
    c.result(flags, UINT32)
    extra = rng.random()
    if extra < 0.3:
        c.result(w.assign_value(f"{flags} & (~{flags} + {_u(1)})", UINT32), UINT32)  # lowest set bit
    elif extra < 0.5:
        pow2 = w.assign_value(f"{flags} != wp.uint32(0) and ({flags} & ({flags} - {_u(1)})) == wp.uint32(0)", BOOL)
        c.result(w.assign_value(f"wp.where({pow2}, 1, 0)", INT), INT)
    if rng.random() < 0.5:
        op = rng.choice(("wp.atomic_or", "wp.atomic_or", "wp.atomic_xor", "wp.atomic_and"))
        mask = w.output_array(UINT32, name="mask_words")
        w.emit(f"{op}({mask}, i % {rng.choice((1, 4, 8))}, {flags})")


def _morton_func(c: _Ctx, dims: int) -> str:
    role = f"spread{dims}"
    if role in c.funcs:
        return c.funcs[role]
    w = c.w
    name = f"{w.name}_part1by{dims - 1}"
    if dims == 3:
        steps = ((16, 0x030000FF), (8, 0x0300F00F), (4, 0x030C30C3), (2, 0x09249249))
        first = 0x3FF
    else:
        steps = ((8, 0x00FF00FF), (4, 0x0F0F0F0F), (2, 0x33333333), (1, 0x55555555))
        first = 0xFFFF
    lines = ["@wp.func", f"def {name}(n: wp.uint32):", f"    x = n & {_u(first)}"]
    lines += [f"    x = (x | (x << {_u(s)})) & {_u(m)}" for s, m in steps]
    lines.append("    return x")
    w.helper_sources.append("\n".join(lines))
    c.funcs[role] = name
    return name


def _morton(c: _Ctx) -> None:
    """Morton (Z-order) codes from quantized coordinates: magic-number bit spreading or an interleaving loop."""
    w, rng = c.w, c.w.rng
    dims = rng.choice((2, 3))
    bits = 10 if dims == 3 else rng.choice((8, 16))
    top = (1 << bits) - 1
    coords = []
    for a in range(dims):
        if rng.random() < 0.5 or not c.values.get("int"):
            shifted = f"wp.uint32(i) >> {_u(2 * a)}" if a else "wp.uint32(i)"
            src = (shifted, f"wp.uint32(i * {rng.randint(3, 9)} + {a})")[rng.random() < 0.5]
        else:
            src = f"wp.uint32({c.value(INT)})"
        coords.append(w.assign_value(f"({src}) & {_u(top)}", UINT32))
    if rng.random() < 0.6 and bits <= 16:
        spread = _morton_func(c, dims)
        code = " | ".join(f"{spread}({x})" if a == 0 else f"({spread}({x}) << {_u(a)})" for a, x in enumerate(coords))
        m = w.assign_value(code, UINT32)
    else:
        m = w.assign_value(_u(0), UINT32)
        var = c.loop_var()
        with w.block(f"for {var} in range({min(bits, 32 // dims)})"):
            for a, x in enumerate(coords):
                shift = f"{_u(dims)} * wp.uint32({var}) + {_u(a)}" if a else f"{_u(dims)} * wp.uint32({var})"
                w.emit(f"{m} |= (({x} >> wp.uint32({var})) & {_u(1)}) << ({shift})")
    c.result(m, UINT32)
    if rng.random() < 0.4:  # decode the first coordinate again: every dims-th bit
        back = w.assign_value(_u(0), UINT32)
        var = c.loop_var()
        with w.block(f"for {var} in range({min(bits, 32 // dims)})"):
            w.emit(f"{back} |= (({m} >> ({_u(dims)} * wp.uint32({var}))) & {_u(1)}) << wp.uint32({var})")
        c.result(w.assign_value(f"int({back}) - int({coords[0]})", INT), INT)


def _popcount(c: _Ctx) -> None:
    """Population count and friends: a bit loop, Kernighan's loop, SWAR, ``wp.bit_count``, parity, MSB."""
    w, rng = c.w, c.w.rng
    v = c.uint()
    kind = rng.choice(("loop", "kernighan", "swar", "builtin", "msb"))
    if kind == "loop":
        n = w.assign_value("int(0)", INT)
        var = c.loop_var()
        with w.block(f"for {var} in range(32)"):
            w.emit(f"{n} += int(({v} >> wp.uint32({var})) & {_u(1)})")
    elif kind == "kernighan":
        x = w.assign_value(f"{_U32}({v})", UINT32)
        n = w.assign_value("int(0)", INT)
        with w.block(f"while {x} != wp.uint32(0)"):
            w.emit(f"{x} &= {x} - {_u(1)}")
            w.emit(f"{n} += 1")
    elif kind == "swar":
        x = w.assign_value(f"{v} - (({v} >> {_u(1)}) & {_u(0x55555555)})", UINT32)
        w.emit(f"{x} = ({x} & {_u(0x33333333)}) + (({x} >> {_u(2)}) & {_u(0x33333333)})")
        n = w.assign_value(f"int(((({x} + ({x} >> {_u(4)})) & {_u(0x0F0F0F0F)}) * {_u(0x01010101)}) >> {_u(24)})", INT)
    elif kind == "builtin":
        n = w.assign_value(f"wp.bit_count({v})", INT)
    else:
        n = w.assign_value("int(-1)", INT)
        var = c.loop_var()
        with w.block(f"for {var} in range(32)"):
            with w.block(f"if (({v} >> wp.uint32({var})) & {_u(1)}) != wp.uint32(0)"):
                w.emit(f"{n} = {var}")
    c.result(n, INT)
    if rng.random() < 0.4:
        c.result(w.assign_value(f"{n} & 1", INT), INT)  # parity


def _divmod(c: _Ctx) -> None:
    """Integer division and modulo: grid coordinates, digit sums, gcd, Collatz steps, bucket sizes."""
    w, rng = c.w, c.w.rng
    n = c.value(INT) or "i"
    kind = rng.choice(("grid", "digits", "gcd", "collatz", "ceil_div"))
    if kind == "grid":
        width = rng.choice((4, 8, 16))
        row = w.assign_value(f"i // {width}", INT)
        col = w.assign_value(f"i % {width}", INT)
        c.result(w.assign_value(f"{col} * {rng.choice((4, 8, 16, 64))} + {row}", INT), INT)
    elif kind == "digits":
        base = rng.choice((2, 3, 8, 10, 16))
        m = w.assign_value(f"wp.abs({n}) * {rng.randint(11, 997)}", INT)
        s = w.assign_value("int(0)", INT)
        var = c.loop_var()
        with w.block(f"for {var} in range({rng.randint(3, 8)})"):
            w.emit(f"{s} += {m} % {base}")
            w.emit(f"{m} = {m} // {base}")
        c.result(s, INT)
    elif kind == "gcd":
        other = c.value(INT) or f"i + {rng.randint(1, 9)}"
        a = w.assign_value(f"wp.abs({n}) + {rng.randint(1, 30)}", INT)
        b = w.assign_value(f"wp.abs({other}) + {rng.randint(1, 30)}", INT)
        var = c.loop_var()
        with w.block(f"for {var} in range({rng.randint(8, 16)})"):
            with w.block(f"if {b} != 0"):
                r = w.assign_value(f"{a} % {b}", INT)
                w.emit(f"{a} = {b}")
                w.emit(f"{b} = {r}")
        c.result(a, INT)
    elif kind == "collatz":
        x = w.assign_value(f"(wp.abs({n}) & 0xFF) + 1", INT)
        steps = w.assign_value("int(0)", INT)
        var = c.loop_var()
        with w.block(f"for {var} in range({rng.randint(8, 24)})"):
            with w.block(f"if {x} > 1"):
                w.emit(f"{x} = wp.where({x} % 2 == 0, {x} // 2, 3 * {x} + 1)")
                w.emit(f"{steps} += 1")
        c.result(steps, INT)
    else:
        d = rng.choice((3, 4, 7, 32))
        total = w.assign_value(f"wp.abs({n}) + {rng.randint(1, 100)}", INT)
        c.result(w.assign_value(f"({total} + {d - 1}) // {d}", INT), INT)
        c.result(w.assign_value(f"{total} - ({total} // {d}) * {d}", INT), INT)


def _widths(c: _Ctx) -> None:
    """Width conversions: 64-bit integer accumulation, double-precision sums, narrow saturating casts."""
    w, rng = c.w, c.w.rng
    kind = rng.choice(("int64", "float64", "narrow", "fixed", "half"))
    if kind == "half":  # round-trip through half precision; the value comes from integers, not a float input
        n = c.value(INT) or "i"
        f = w.assign_value(f"float({n}) * {float_literal(rng, 0.01, 0.5)} + {float_literal(rng, 0.0, 1.0)}", FLOAT)
        half = w.assign_value(f"wp.float16({f})", WarpType("float16", "wp.float16"))
        c.result(w.assign_value(f"wp.float32({half}) - {f}", FLOAT), FLOAT)
        return
    if kind == "int64":
        acc = w.assign_value("wp.int64(0)", INT64)
        base = c.value(INT) or "i"
        var = c.loop_var()
        with w.block(f"for {var} in range({rng.randint(2, 8)})"):
            w.emit(f"{acc} += wp.int64({base} + {var}) * wp.int64({rng.choice((1000, 65536, 1000003, 2147483))})")
        c.result(acc, INT64)
        c.result(w.assign_value(f"int({acc} % wp.int64({rng.choice((7, 97, 1000))}))", INT), INT)
    elif kind == "float64":
        acc = w.assign_value("wp.float64(0.0)", FLOAT64)
        src = c.value(FLOAT64) or c.value(FLOAT) or "float(i)"
        var = c.loop_var()
        with w.block(f"for {var} in range({rng.randint(2, 10)})"):
            w.emit(f"{acc} += wp.float64({src}) * wp.float64({float_literal(rng, 0.1, 1.0)}) / wp.float64({var} + 1)")
        c.result(acc, FLOAT64)
        c.result(w.assign_value(f"wp.float32({acc})", FLOAT), FLOAT)
    elif kind == "narrow":
        n = c.value(INT) or "i"
        narrow = rng.choice(
            (("wp.int16", -32768, 32767), ("wp.int8", -128, 127), ("wp.uint8", 0, 255), ("wp.uint16", 0, 65535))
        )
        ann, lo, hi = narrow
        small = w.assign_value(f"{ann}(wp.clamp({n} * {rng.randint(3, 5000)}, {lo}, {hi}))", WarpType(ann[3:], ann))
        c.result(w.assign_value(f"int({small})", INT), INT)
    else:  # fixed point: 16.16 in an int64, then back
        src = c.value(FLOAT64) or (
            f"wp.float64({c.value(FLOAT)})" if c.values.get("float") else "wp.float64(i) * wp.float64(0.1)"
        )
        fx = w.assign_value(f"wp.int64(wp.round({src} * wp.float64(65536.0)))", INT64)
        c.result(fx, INT64)
        c.result(w.assign_value(f"wp.float64({fx}) / wp.float64(65536.0)", FLOAT64), FLOAT64)


def _float_bits(c: _Ctx) -> None:
    """IEEE-754 bit tricks with ``wp.cast``: sign/exponent/mantissa fields, sign flips, fast inverse sqrt."""
    w, rng = c.w, c.w.rng
    # the float comes from integers or a parameter: wp.cast has no adjoint, so a float input array read
    # through it would make the kernel look differentiable while its gradient is silently zero
    params = [a.name for a in w.args if not a.is_array and a.type is FLOAT]
    n = c.value(INT) or "i"
    f = rng.choice(params) if params and rng.random() < 0.5 else f"float({n}) * {float_literal(rng, 0.01, 0.2)} + 0.1"
    kind = rng.choice(("fields", "sign", "rsqrt"))
    if kind == "rsqrt":
        x = w.assign_value(f"wp.abs({f}) + {float_literal(rng, 0.1, 1.0)}", FLOAT)
        bits = w.assign_value(f"wp.cast({x}, wp.uint32)", UINT32)
        y = w.assign_value(f"wp.cast({_u(0x5F3759DF)} - ({bits} >> {_u(1)}), wp.float32)", FLOAT)
        for _ in range(rng.randint(1, 2)):
            w.emit(f"{y} = {y} * (1.5 - 0.5 * {x} * {y} * {y})")
        c.result(y, FLOAT)
        return
    bits = w.assign_value(f"wp.cast({f}, wp.uint32)", UINT32)
    if kind == "fields":
        c.result(w.assign_value(f"int(({bits} >> {_u(23)}) & {_u(0xFF)}) - 127", INT), INT)
        c.result(w.assign_value(f"{bits} & {_u(0x7FFFFF)}", UINT32), UINT32)
        c.result(w.assign_value(f"int({bits} >> {_u(31)})", INT), INT)
    else:
        op = rng.choice((f"{bits} ^ ({_u(1)} << {_u(31)})", f"{bits} & {_u(0x7FFFFFFF)}"))
        c.result(w.assign_value(f"wp.cast({op}, wp.float32)", FLOAT), FLOAT)


def _atomics(c: _Ctx) -> None:
    """Integer atomics: histogram counts, min/max over buckets, bitwise OR into shared words."""
    w, rng = c.w, c.w.rng
    key = c.value(INT) or f"i * {rng.randint(3, 9)}"
    counts = w.output_array(INT, name="hist")
    bucket = w.assign_value(f"({key} & 0x7FFFFFFF) % {counts}.shape[0]", INT)
    op = rng.choice(("wp.atomic_add", "wp.atomic_add", "wp.atomic_max", "wp.atomic_min"))
    value = "1" if op == "wp.atomic_add" and rng.random() < 0.6 else w.expr(INT, 2)
    old = w.assign_value(f"{op}({counts}, {bucket}, {value})", INT)
    c.result(old, INT)


def _hash_table(c: _Ctx) -> None:
    """Insert a key into an open-addressing hash table with ``wp.atomic_cas`` and linear probing."""
    w, rng = c.w, c.w.rng
    keys = w.output_array(INT, name="table_keys", recipe={"low": -1, "high": 0})  # -1 marks an empty slot
    key = w.assign_value(f"({c.value(INT) or 'i'} & 0xFFFF) * {rng.randint(2, 64)} + i", INT)
    h = w.assign_value(f"wp.uint32({key}) * {_m(rng.choice(_ODD))}", UINT32)
    slot = w.assign_value(f"int({h} >> {_u(16)}) % {keys}.shape[0]", INT)
    probes = w.assign_value("int(0)", INT)
    var = c.loop_var()
    with w.block(f"for {var} in range({rng.choice((4, 8, 16))})"):
        prev = w.assign_value(f"wp.atomic_cas({keys}, {slot}, -1, {key})", INT)
        with w.block(f"if {prev} == -1 or {prev} == {key}"):
            w.emit("break")
        w.emit(f"{slot} = ({slot} + 1) % {keys}.shape[0]")
        w.emit(f"{probes} += 1")
    c.result(probes, INT)
    if rng.random() < 0.5:
        owner = w.output_array(INT, name="owner")
        c.result(w.assign_value(f"wp.atomic_exch({owner}, {slot}, i)", INT), INT)


# name -> (function, weight)
_MOTIFS: dict[str, tuple[Callable[[_Ctx], None], float]] = {
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


def _pick(w: KernelWriter, count: int) -> list[str]:
    rng = w.rng
    pool = list(_MOTIFS)
    chosen = []
    for _ in range(count):
        total = sum(_MOTIFS[n][1] for n in pool)
        pick = rng.uniform(0.0, total)
        for name in pool:
            pick -= _MOTIFS[name][1]
            if pick <= 0.0:
                break
        chosen.append(name)
        pool.remove(name)
    return chosen


def _store(w: KernelWriter, c: _Ctx) -> None:
    """One output array per result type; each folds in that type's motif results and unread locals."""
    rng = w.rng
    grouped: dict[str, tuple[WarpType, list[str]]] = {}
    for name, t in c.results:
        if t.name not in _OUT_NAMES:
            continue
        names = grouped.setdefault(t.name, (t, []))[1]
        if name not in names:
            names.append(name)
    for t in (UINT32, INT, INT64, FLOAT64, FLOAT):  # inputs nothing has read yet still reach an output
        if any(w.gen.uses.get(n, 0) == 0 for n in c.values.get(t.name, [])):
            grouped.setdefault(t.name, (t, []))
    if not grouped:
        grouped["uint32"] = (UINT32, [])
    for t, names in grouped.values():
        unread = [n for n in w.locals_of(t) if w.gen.uses.get(n, 0) == 0 and n not in names][-2:]
        terms = names[-3:] + unread
        for n in terms:
            w.gen.uses[n] = w.gen.uses.get(n, 0) + 1
        if not terms or rng.random() < 0.3:
            extra = w.expr(t, 2)
            if extra not in terms:
                terms.append(extra)
        joiner = " ^ " if t is UINT32 and rng.random() < 0.6 else " + "
        out = w.output_array(t, name=_OUT_NAMES[t.name])
        w.emit(f"{out}[i] = {joiner.join(terms)}")


@register_category("bitwise", groups={"bitwise"})
def bitwise(w: KernelWriter) -> None:
    """Integer and bit-level work: & | ^ ~ << >>, hashing, packing, masks, Morton codes, popcount, widths."""
    rng = w.rng
    _add_productions(w)
    values: dict[str, list[str]] = {}
    for _ in range(rng.randint(1, w.limits.inputs)):
        t = rng.choice((UINT32, UINT32, INT, INT, INT64, FLOAT64, FLOAT))
        array = w.input_array(t, load=False)
        values.setdefault(t.name, []).append(w.assign_value(f"{array}[i]", t))
    if rng.random() < 0.4:
        w.param(UINT32, name=rng.choice(("seed", "salt", "key")))
    if rng.random() < 0.2:
        w.param(FLOAT, name="scale", recipe={"low": 0.1, "high": 4.0})
    w.add_helpers((UINT32, INT))
    c = _Ctx(w, values)
    count = {1: 1, 2: rng.randint(1, 2), 3: 2, 4: rng.randint(2, 3), 5: 3}[w.level]
    for _ in range(rng.randint(0, w.limits.statements // 3)):
        t = rng.choice((UINT32, INT, INT64, FLOAT64))
        c.values.setdefault(t.name, []).append(w.assign(t))
    for name in _pick(w, count):
        _MOTIFS[name][0](c)
    for _ in range(rng.randint(0, w.limits.statements // 3)):
        t = rng.choice((UINT32, UINT32, INT, INT64, FLOAT64, FLOAT))
        c.result(w.assign(t), t)
    _store(w, c)
