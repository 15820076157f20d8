// A minimal WebAssembly binary encoder: enough to write the CPU kernels (simd.ts) as TypeScript that emits their
// bytes, so the project needs no WASM toolchain and the kernels can be unrolled by generator code.

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
type ValType = typeof I32 | typeof F32 | typeof V128;

/** The core opcodes the kernels use. */
export const Op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f, select: 0x1b,
  i32Load: 0x28, f32Load: 0x2a, i32Store: 0x36, f32Store: 0x38,
  i32Eqz: 0x45, i32LtS: 0x48, i32GtS: 0x4a, i32LeS: 0x4c, i32GeS: 0x4e,
  f32Ne: 0x5c, f32Gt: 0x5e,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Shl: 0x74,
  f32Add: 0x92, f32Sub: 0x93, f32Mul: 0x94, f32Max: 0x97,
} as const;

/** The 0xfd-prefixed SIMD opcodes the kernels use. */
export const Simd = {
  load: 0x00, load32Splat: 0x09, store: 0x0b, const: 0x0c, shuffle: 0x0d, i32x4Splat: 0x11, f32x4Splat: 0x13,
  f32x4ExtractLane: 0x1f, f32x4Ge: 0x46, and: 0x4e, f32x4Nearest: 0x6a, i32x4Shl: 0xab, i32x4Add: 0xae,
  f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f32x4Max: 0xe9, i32x4TruncSatF32x4S: 0xf8, f32x4RelaxedMadd: 0x105,
} as const;

function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

/**
 * One function's body, written as a stack machine with named locals. Loops and branches are structured: `forUp`
 * covers the counted loops the kernels need, so no caller counts label depths.
 *
 * @example
 * const f = new FunctionBody(["n"], {}, [I32]);
 * f.get("n").i32(1).op(Op.i32Add); // returns n + 1
 */
export class FunctionBody {
  readonly code: number[] = [];
  private readonly index = new Map<string, number>();
  private readonly declared: ValType[] = [];

  constructor(readonly params: string[], locals: Record<string, ValType>, readonly results: ValType[] = []) {
    params.forEach((p, i) => this.index.set(p, i));
    for (const [name, type] of Object.entries(locals)) {
      this.index.set(name, this.index.size);
      this.declared.push(type);
    }
  }

  private slot(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`wasm encoder: no local ${name}`);
    return i;
  }

  get(name: string): this { this.code.push(0x20); uleb(this.slot(name), this.code); return this; }
  set(name: string): this { this.code.push(0x21); uleb(this.slot(name), this.code); return this; }
  tee(name: string): this { this.code.push(0x22); uleb(this.slot(name), this.code); return this; }
  i32(v: number): this { this.code.push(0x41); sleb(v | 0, this.code); return this; }
  f32(v: number): this {
    this.code.push(0x43, ...new Uint8Array(Float32Array.of(v).buffer));
    return this;
  }
  /** A v128 constant with the same f32 in every lane. */
  f32x4(v: number): this {
    this.code.push(0xfd);
    uleb(Simd.const, this.code);
    for (let i = 0; i < 4; i++) this.code.push(...new Uint8Array(Float32Array.of(v).buffer));
    return this;
  }
  op(...codes: number[]): this { this.code.push(...codes); return this; }
  simd(code: number): this { this.code.push(0xfd); uleb(code, this.code); return this; }
  /** A memory access (load or store) with its alignment (log2 bytes) and constant byte offset. */
  mem(code: number, align: number, offset = 0): this {
    this.code.push(code, align);
    uleb(offset, this.code);
    return this;
  }
  simdMem(code: number, align: number, offset = 0): this {
    this.simd(code);
    this.code.push(align);
    uleb(offset, this.code);
    return this;
  }
  lane(lane: number): this { this.code.push(lane); return this; }
  /** f32x4 shuffle by lane indices (each 0–7: 0–3 from the first operand, 4–7 from the second). */
  shuffle32(lanes: [number, number, number, number]): this {
    this.simd(Simd.shuffle);
    for (const l of lanes) for (let b = 0; b < 4; b++) this.code.push(l * 4 + b);
    return this;
  }

  /** for (name = from; name < to; name += step) body — from and to push an i32 each. */
  forUp(name: string, from: () => void, to: () => void, step: number, body: () => void): this {
    from();
    this.set(name);
    this.op(Op.block, 0x40, Op.loop, 0x40);
    this.get(name);
    to();
    this.op(Op.i32GeS, Op.brIf, 1);
    body();
    this.get(name).i32(step).op(Op.i32Add).set(name).op(Op.br, 0, Op.end, Op.end);
    return this;
  }

  /** if (cond) then [else otherwise]; cond pushes an i32. */
  when(cond: () => void, then: () => void, otherwise?: () => void): this {
    cond();
    this.op(Op.if, 0x40);
    then();
    if (otherwise) {
      this.op(Op.else);
      otherwise();
    }
    this.op(Op.end);
    return this;
  }

  /** The body as the code section wants it: locals declared, then the instructions and `end`. */
  encode(): number[] {
    const out: number[] = [];
    uleb(this.declared.length, out);
    for (const t of this.declared) out.push(1, t);
    out.push(...this.code, Op.end);
    const sized: number[] = [];
    uleb(out.length, sized);
    return sized.concat(out);
  }
}

function section(id: number, body: number[]): number[] {
  const out = [id];
  uleb(body.length, out);
  return out.concat(body);
}

function name(s: string, out: number[]): void {
  const bytes = new TextEncoder().encode(s);
  uleb(bytes.length, out);
  out.push(...bytes);
}

/**
 * A module of exported functions over one memory imported as `env.memory`; `sharedPages` declares it shared (threads)
 * with that maximum, which the memory passed in must not exceed.
 *
 * @example
 * const bytes = encodeModule({ add1: f });
 * const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
 */
export function encodeModule(functions: Record<string, FunctionBody>, sharedPages = 0): Uint8Array<ArrayBuffer> {
  const entries = Object.entries(functions);
  const types: number[] = [];
  uleb(entries.length, types);
  for (const [, f] of entries) {
    types.push(0x60);
    uleb(f.params.length, types);
    for (let i = 0; i < f.params.length; i++) types.push(I32);
    uleb(f.results.length, types);
    types.push(...f.results);
  }
  const imports: number[] = [1];
  name("env", imports);
  name("memory", imports);
  // Memory limits: at least one page, and no maximum, or (shared) the maximum.
  imports.push(0x02, sharedPages ? 0x03 : 0x00, 1);
  if (sharedPages) uleb(sharedPages, imports);
  const funcs: number[] = [];
  uleb(entries.length, funcs);
  entries.forEach((_, i) => uleb(i, funcs));
  const exports: number[] = [];
  uleb(entries.length, exports);
  entries.forEach(([n], i) => {
    name(n, exports);
    exports.push(0x00);
    uleb(i, exports);
  });
  const code: number[] = [];
  uleb(entries.length, code);
  for (const [, f] of entries) code.push(...f.encode());
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, types), ...section(2, imports), ...section(3, funcs), ...section(7, exports), ...section(10, code),
  ]);
}
