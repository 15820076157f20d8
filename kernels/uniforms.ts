// A kernel's uniform struct declared once, as data: the WGSL `struct Params` and the packer that fills a buffer in
// its layout both come from the one list of fields, so the host cannot write them in another order than the shader
// reads them (the idea of ONNX Runtime web's registerUniforms).

type Scalar = "u32" | "i32" | "f32";
export type UniformType = Scalar | `vec2<${Scalar}>` | `vec4<${Scalar}>`;

/** [name, type, a comment for the WGSL line]. */
export type UniformField = readonly [name: string, type: UniformType, comment?: string];

type ValueOf<T extends UniformType> = T extends Scalar ? number
  : T extends `vec2<${Scalar}>` ? readonly [number, number]
  : readonly [number, number, number, number];

/** The object `pack` takes for a list of fields: a number per scalar, a tuple per vector. */
export type FieldValues<F extends readonly UniformField[]> = { [E in F[number] as E[0]]: ValueOf<E[1]> };

export interface UniformLayout<V> {
  /** `struct Params { ... }`, with the padding spelled out as `_padN: u32` members. */
  readonly wgsl: string;
  /** Bytes of the struct, rounded up to 16 (uniform buffers are laid out in 16-byte rows). */
  readonly size: number;
  /** Byte offset of each declared field. */
  readonly offsets: Readonly<Record<keyof V & string, number>>;
  /** The struct's bytes for these values (little-endian, as WebGPU reads them). */
  pack(values: V): ArrayBuffer;
}

/** The values object of a layout (to pass part of it around before packing). */
export type UniformValues<L> = L extends UniformLayout<infer V> ? V : never;

const WRITE: Record<Scalar, (view: DataView, offset: number, value: number) => void> = {
  u32: (view, offset, value) => view.setUint32(offset, value, true),
  i32: (view, offset, value) => view.setInt32(offset, value, true),
  f32: (view, offset, value) => view.setFloat32(offset, value, true),
};

/** The layout of `fields` in this order, each at WGSL's alignment for the uniform address space. */
export function uniforms<const F extends readonly UniformField[]>(fields: F): UniformLayout<FieldValues<F>> {
  const members: { name: string; type: UniformType; comment?: string | undefined }[] = [];
  const placed: { name: string; scalar: Scalar; offset: number }[] = [];
  let end = 0;
  let pads = 0;
  // Gaps become u32 members, so the WGSL shows every byte the packer writes or skips.
  const padTo = (offset: number) => {
    for (; end < offset; end += 4) members.push({ name: `_pad${pads++}`, type: "u32" });
  };
  for (const [name, type, comment] of fields) {
    if (placed.some((p) => p.name === name)) throw new Error(`uniforms: field ${name} is declared twice`);
    // Sizes equal alignments here: 4 bytes per scalar, 8 per vec2, 16 per vec4.
    const lanes = type.startsWith("vec") ? Number(type[3]) : 1;
    padTo(Math.ceil(end / (4 * lanes)) * 4 * lanes);
    placed.push({ name, scalar: (lanes === 1 ? type : type.slice(5, 8)) as Scalar, offset: end });
    members.push({ name, type, comment });
    end += 4 * lanes;
  }
  padTo(Math.ceil(end / 16) * 16);
  const size = end;
  const width = Math.max(...members.map((m) => `${m.name}: ${m.type},`.length));
  const line = (m: (typeof members)[number]) => `  ${m.name}: ${m.type},`.padEnd(m.comment ? width + 4 : 0) + (m.comment ? `// ${m.comment}` : "");
  const wgsl = `struct Params {\n${members.map(line).join("\n")}\n}\n`;
  return {
    wgsl,
    size,
    offsets: Object.fromEntries(placed.map((p) => [p.name, p.offset])) as UniformLayout<FieldValues<F>>["offsets"],
    pack(values) {
      const buffer = new ArrayBuffer(size);
      const view = new DataView(buffer);
      const byName = values as Record<string, number | readonly number[]>;
      for (const p of placed) {
        const value = byName[p.name]!;
        (typeof value === "number" ? [value] : value).forEach((x, lane) => WRITE[p.scalar](view, p.offset + 4 * lane, x));
      }
      return buffer;
    },
  };
}
