/** Compiler diagnostics: every problem found, each with its config file, line and column. */
import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from "yaml";

export type DiagnosticCode =
  | "E_YAML_SYNTAX"
  | "E_JSON_SYNTAX"
  | "E_UNKNOWN_KEY"
  | "E_MISSING_KEY"
  | "E_INVALID_VALUE"
  | "E_UNKNOWN_PS_TYPE"
  | "E_PROCESSOR_CONFIG"
  | "E_DUPLICATE_STEP_ID"
  | "E_UNKNOWN_DEPENDENCY"
  | "E_DEPENDENCY_CYCLE"
  | "E_UNKNOWN_TABLE_REF"
  | "E_SCHEMA_FILE_MISSING"
  | "E_TABLE_SCHEMA"
  | "E_TEMPLATE_SYNTAX"
  | "E_UNKNOWN_TEMPLATE_REF"
  | "E_PARAM_DEFAULT"
  | "E_PARAM_ALIAS"
  | "E_OUTPUT_REQUIRED"
  | "E_PARTITION_FIELD"
  | "E_CHECK_COLUMN"
  | "E_DUPLICATE_CHECK"
  | "E_SEED_DATA"
  | "E_ROUTE"
  | "E_DUPLICATE_ROUTE"
  | "E_DUPLICATE_PIPELINE_ID"
  | "E_INTEGRATION"
  | "E_RELOAD";

export type YamlPath = readonly (string | number)[];

export interface Diagnostic {
  /** Path relative to the repository, e.g. `configs/openai/usage_cost.yml`. */
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
  readonly path: YamlPath;
  readonly code: DiagnosticCode;
}

/** `a.b[1].c` style rendering of a YAML path. */
export function formatPath(path: YamlPath): string {
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : out === "" ? seg : `.${seg}`;
  return out === "" ? "<root>" : out;
}

/** `configs/x.yml:14:7 message at "steps[1].ps_type" (CODE)` */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col} ${d.message} at "${formatPath(d.path)}" (${d.code})`;
}

/**
 * Orders diagnostics by file, line, column, then message, so output is deterministic; drops repeats (a problem in
 * configs/_defaults.yml is found once for each pipeline that takes the default, and reported once).
 */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const sorted = [...list].sort((a, b) =>
    a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col || a.message.localeCompare(b.message)
  );
  return sorted.filter((d, i) => i === 0 || formatDiagnostic(d) !== formatDiagnostic(sorted[i - 1]!));
}

/** A parsed YAML or JSON document that can turn a value path into a line and column. */
export class SourceMap {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    /** Where this map's paths start in the document (see `under`). */
    private readonly root: YamlPath = [],
  ) {}

  /** The same document seen from `prefix`: `under(["data"]).position(["params"])` is `data.params`. */
  under(prefix: YamlPath): SourceMap {
    return new SourceMap(this.file, this.doc, this.lines, [...this.root, ...prefix]);
  }

  /**
   * The position of the node at `path`; with `key`, the position of the key of the last segment.
   * A path that does not exist resolves to its deepest existing ancestor (a missing key points at its parent).
   */
  position(relative: YamlPath, opts: { key?: boolean } = {}): { line: number; col: number } {
    const path = [...this.root, ...relative];
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        if (last && opts.key) {
          offset = rangeStart(pair.key) ?? offset;
          break;
        }
        node = pair.value;
      } else if (isSeq(node) && typeof seg === "number") {
        const item = node.items[seg];
        if (item === undefined) break;
        node = item;
      } else {
        break;
      }
      offset = rangeStart(node) ?? offset;
    }
    const pos = this.lines.linePos(offset);
    return { line: pos.line, col: pos.col };
  }

  diagnostic(path: YamlPath, message: string, code: DiagnosticCode, opts: { key?: boolean } = {}): Diagnostic {
    const { line, col } = this.position(path, opts);
    return { file: this.file, line, col, message, path: [...this.root, ...path], code };
  }
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}
