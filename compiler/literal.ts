/** Prints JSON-like values as deterministic, readable TypeScript literals. */

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A TypeScript literal for `value`, indented by `indent` levels of two spaces; short values stay on one line. */
export function literal(value: unknown, indent = 0): string {
  if (value === undefined) return "undefined";
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const pad = "  ".repeat(indent + 1);
  const close = "  ".repeat(indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items = value.map((v) => literal(v, indent + 1));
    const flat = `[${items.join(", ")}]`;
    return flat.length <= 80 && !flat.includes("\n")
      ? flat
      : `[\n${items.map((i) => `${pad}${i},`).join("\n")}\n${close}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "{}";
  const items = entries.map(([k, v]) => `${IDENT.test(k) ? k : JSON.stringify(k)}: ${literal(v, indent + 1)}`);
  const flat = `{ ${items.join(", ")} }`;
  return flat.length <= 80 && !flat.includes("\n")
    ? flat
    : `{\n${items.map((i) => `${pad}${i},`).join("\n")}\n${close}}`;
}
