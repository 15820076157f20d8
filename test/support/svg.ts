// SVG checks without an XML library: well-formedness (tags closed in order, attribute text escaped) and the
// elements with their attributes, for structural assertions on the plots.
import assert from "node:assert/strict";

export interface SvgElement {
  name: string;
  attrs: Record<string, string>;
}

/** Asserts that every tag is closed in order and no attribute holds a raw `<` or `&`; returns the opened elements. */
export function parseSvg(svg: string): SvgElement[] {
  const stack: string[] = [];
  const elements: SvgElement[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)([^>]*?)(\/?)>/g)) {
    const [, close, name, attrs, self] = m;
    assert.ok(!/[<&](?!amp;|lt;|gt;|quot;)/.test(attrs!), `unescaped attribute text in <${name}>`);
    if (close) assert.equal(stack.pop(), name);
    else if (!self) stack.push(name!);
    if (!close) elements.push({ name: name!, attrs: Object.fromEntries([...attrs!.matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!])) });
  }
  assert.deepEqual(stack, []);
  return elements;
}
