/** Parse stage: read configs/ into documents with source maps. Only this stage and `write` touch the disk. */
import { type Document, isNode, isScalar, isSeq, LineCounter, parseDocument, visit, type YAMLError } from "yaml";
import { type Diagnostic, SourceMap } from "./diagnostics.ts";
import { DEFAULTS_FILE } from "./dsl.ts";

export interface ParsedFile {
  /** Path relative to configs/, e.g. `openai/usage_cost.yml`. */
  readonly rel: string;
  /** Path as printed in diagnostics, e.g. `configs/openai/usage_cost.yml`. */
  readonly file: string;
  readonly value: unknown;
  readonly map: SourceMap;
}

export interface ConfigTree {
  readonly pipelines: ParsedFile[];
  /** configs/_defaults.yml, when there is one. */
  defaults?: ParsedFile;
  readonly notifiers: ParsedFile[];
  /** JSON files (table schemas) by path relative to configs/. */
  readonly schemas: Map<string, ParsedFile>;
  /** Raw text of data files (CSV seeds) by path relative to configs/. */
  readonly data: Map<string, string>;
  readonly diagnostics: Diagnostic[];
}

/** Source text of every config file, by path relative to configs/. */
export type ConfigSources = ReadonlyMap<string, string>;

/** Reads every file under `root` (configs/) into a sorted map of relative path to text. */
export async function readConfigSources(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(dir: string, rel: string): Promise<void> {
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(dir)) entries.push(e);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(`${dir}/${e.name}`, r);
      else if (e.isFile && /\.(ya?ml|json|csv)$/.test(e.name)) out.set(r, await Deno.readTextFile(`${dir}/${e.name}`));
    }
  }
  await walk(root, "");
  return new Map([...out.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** Parses YAML and JSON sources (JSON through the YAML parser, which keeps positions). */
export function parseConfigs(sources: ConfigSources, prefix = "configs"): ConfigTree {
  const tree: ConfigTree = { pipelines: [], notifiers: [], schemas: new Map(), data: new Map(), diagnostics: [] };
  for (const [rel, text] of sources) {
    if (rel.endsWith(".csv")) {
      tree.data.set(rel, text);
      continue;
    }
    const isJson = rel.endsWith(".json");
    const parsed = parseOne(rel, `${prefix}/${rel}`, text, isJson, tree.diagnostics);
    if (!parsed) continue;
    if (isJson) tree.schemas.set(rel, parsed);
    else if (rel === DEFAULTS_FILE) tree.defaults = parsed;
    else if (/^notify_systems\/[^/]+\/config\.ya?ml$/.test(rel)) tree.notifiers.push(parsed);
    else tree.pipelines.push(parsed);
  }
  return tree;
}

function parseOne(
  rel: string,
  file: string,
  text: string,
  isJson: boolean,
  diagnostics: Diagnostic[],
): ParsedFile | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const map = new SourceMap(file, doc, lines);
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const pos = lines.linePos(openerOf(doc, err) ?? err.pos[0]);
      const message = err.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      diagnostics.push({
        file,
        line: pos.line,
        col: pos.col,
        message: `${isJson ? "invalid JSON" : "invalid YAML"}: ${message}`,
        path: [],
        code: isJson ? "E_JSON_SYNTAX" : "E_YAML_SYNTAX",
      });
    }
    return undefined;
  }
  return { rel, file, value: doc.toJS(), map };
}

/**
 * Where the construct an "unclosed" error is about was opened: the `[`, `{` or quote. The parser reports these
 * where it gave up (often the line after the construct, or end of file), which is not where the fix goes.
 */
function openerOf(doc: Document, err: YAMLError): number | undefined {
  const message = err.message;
  const want = /^Flow sequence/.test(message)
    ? "seq"
    : /^Flow map/.test(message)
    ? "map"
    : /^Missing closing .?quote/.test(message)
    ? "quote"
    : undefined;
  if (!want) return undefined;
  const at = err.pos[0];
  let best: number | undefined;
  visit(doc, (_key, node) => {
    if (!isNode(node) || !node.range) return;
    const [start, , end] = node.range;
    if (!(start < at && at <= end)) return;
    const kind = isScalar(node)
      ? (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE" ? "quote" : undefined)
      : (node as { flow?: boolean }).flow
      ? (isSeq(node) ? "seq" : "map")
      : undefined;
    if (kind === want && (best === undefined || start > best)) best = start;
  });
  return best;
}
