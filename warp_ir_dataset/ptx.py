"""Cut one kernel's code out of a module's PTX.

NVRTC compiles a whole Warp module (many kernels) to one PTX file. A record's ``ptx`` is that file's
header, the kernel's own ``.entry`` functions (forward and backward), and the ``.func`` functions and
global declarations they reference, transitively. Symbols that NVRTC mangles with the module's name
(``_INTERNAL_<hash>_..._wp_<module>_cu_<hash>``) are normalised, so a kernel's PTX does not depend on
which batch it was compiled in.
"""

from __future__ import annotations

import re

_BLOCK_START = re.compile(r"^(?:\.visible\s+|\.weak\s+|\.extern\s+)*\.(entry|func)\s+(?:\([^)]*\)\s*)?([\w$]+)", re.M)
_DECLARATION = re.compile(
    r"^\.(?:global|const|shared|extern)\b[^\n;{]*?([A-Za-z_$][\w$]*)\s*(?:\[[^\]]*\])?\s*(?:=[^\n]*)?;", re.M
)
_MODULE_MANGLING = re.compile(r"_INTERNAL_[0-9a-f]+_\d+_wp_\w+?_cu_[0-9a-f]+")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
# NVVM numbers basic-block labels and local depots by the function's position in the module
_FUNCTION_NUMBERING = re.compile(r"(\$L__BB|__local_depot)(\d+)")


def _split_blocks(ptx: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(header, functions by name, declarations by name)."""
    starts = list(_BLOCK_START.finditer(ptx))
    head_end = ptx.find("\n", ptx.find(".address_size")) + 1 if ".address_size" in ptx else 0
    header = ptx[:head_end]
    functions: dict[str, str] = {}
    for n, match in enumerate(starts):
        begin = match.start()
        limit = starts[n + 1].start() if n + 1 < len(starts) else len(ptx)
        text = ptx[begin:limit]
        body_end = text.find("\n}\n")
        # a bare prototype (".func foo(...);") has no body; keep the first full definition
        block = text[: body_end + 3] if body_end != -1 else text[: text.find(";") + 1]
        name = match.group(2)
        if name not in functions or functions[name].rstrip().endswith(";"):
            functions[name] = block.rstrip() + "\n"
    declarations = {m.group(1): m.group(0) + "\n" for m in _DECLARATION.finditer(ptx[head_end:])}
    return header, functions, declarations


def kernel_ptx(module_ptx: str, symbol: str) -> str:
    """The PTX of kernel ``symbol`` (``<key>_<hash8>``) from its module's PTX; empty if it is not there."""
    header, functions, declarations = _split_blocks(module_ptx)
    entries = [name for name in functions if name.startswith(symbol + "_cuda_kernel_")]
    if not entries:
        return ""
    wanted_funcs: list[str] = []
    wanted_decls: list[str] = []
    pending = list(entries)
    seen = set(entries)
    while pending:
        text = functions[pending.pop()]
        for ident in _IDENTIFIER.findall(text):
            if ident in seen:
                continue
            if ident in functions:
                seen.add(ident)
                wanted_funcs.append(ident)
                pending.append(ident)
            elif ident in declarations:
                seen.add(ident)
                wanted_decls.append(ident)
    parts = [header, "\n", *(declarations[name] for name in sorted(wanted_decls)), "\n"]
    for position, name in enumerate([*sorted(wanted_funcs), *entries]):
        parts.append(_FUNCTION_NUMBERING.sub(lambda m, p=position: f"{m.group(1)}{p}", functions[name]) + "\n")
    return _MODULE_MANGLING.sub("_INTERNAL_module", "".join(parts))
