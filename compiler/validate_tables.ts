/** Validates table schema files and CSV seed data against them. */
import { type TableSchema, tableSchemaFile, tableSchemaProblems } from "../src/schema/table_schema.ts";
import type { Row } from "../src/schema/row.ts";
import type { Diagnostic } from "./diagnostics.ts";
import type { ParsedFile } from "./parse.ts";
import { zodDiagnostics } from "./zod_issues.ts";

/** Validates every JSON schema file; returns the valid ones (without table name) by path. */
export function validateSchemaFiles(
  files: ReadonlyMap<string, ParsedFile>,
  diagnostics: Diagnostic[],
): Map<string, Omit<TableSchema, "table">> {
  const valid = new Map<string, Omit<TableSchema, "table">>();
  for (const [rel, f] of files) {
    const parsed = tableSchemaFile.safeParse(f.value);
    if (!parsed.success) {
      diagnostics.push(
        ...zodDiagnostics(parsed.error, f.map, f.value).map((d) => ({
          ...d,
          code: d.code === "E_INVALID_VALUE" ? "E_TABLE_SCHEMA" as const : d.code,
        })),
      );
      continue;
    }
    const problems = tableSchemaProblems(parsed.data);
    for (const p of problems) diagnostics.push(f.map.diagnostic(p.path, p.message, "E_TABLE_SCHEMA"));
    if (problems.length > 0) continue;
    const s = parsed.data;
    valid.set(rel, {
      description: s.description,
      fields: s.fields.map((
        c,
      ) => (c.description === undefined
        ? { name: c.name, type: c.type, mode: c.mode }
        : { name: c.name, type: c.type, mode: c.mode, description: c.description })
      ),
      ...(s.partitioning ? { partitioning: s.partitioning } : {}),
      ...(s.clustering ? { clustering: s.clustering } : {}),
      ...(s.primary_key ? { primary_key: s.primary_key } : {}),
    });
  }
  return valid;
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF). Returns rows with 1-based line numbers. */
export function parseCsv(text: string): { line: number; cells: string[] }[] {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else {
        if (ch === "\n") line++;
        cell += ch;
      }
    } else if (ch === '"' && cell === "") quoted = true;
    else if (ch === ",") {
      cells.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      cells.push(cell);
      if (cells.length > 1 || cells[0] !== "") rows.push({ line: rowLine, cells });
      cells = [];
      cell = "";
      line++;
      rowLine = line;
    } else cell += ch;
  }
  if (cell !== "" || cells.length > 0) {
    cells.push(cell);
    rows.push({ line: rowLine, cells });
  }
  return rows;
}

const DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const DECIMAL = /^-?\d{1,29}(\.\d{1,9})?$/;

/** Converts one CSV cell to the column type, or returns an error message. */
function convert(cell: string, type: string): { value: unknown } | { error: string } {
  switch (type) {
    case "STRING":
      return { value: cell };
    case "INT64":
      return /^-?\d{1,18}$/.test(cell) ? { value: Number(cell) } : { error: `"${cell}" is not an INT64` };
    case "FLOAT64":
      return Number.isFinite(Number(cell)) ? { value: Number(cell) } : { error: `"${cell}" is not a FLOAT64` };
    case "NUMERIC":
      return DECIMAL.test(cell) ? { value: cell } : { error: `"${cell}" is not a NUMERIC with at most 9 decimals` };
    case "BOOLEAN":
      return cell === "true" || cell === "false"
        ? { value: cell === "true" }
        : { error: `"${cell}" is not true or false` };
    case "DATE":
      return DATE.test(cell) && !Number.isNaN(Date.parse(cell))
        ? { value: cell }
        : { error: `"${cell}" is not a date (YYYY-MM-DD)` };
    case "TIMESTAMP":
      return Number.isNaN(Date.parse(cell))
        ? { error: `"${cell}" is not a timestamp` }
        : { value: new Date(cell).toISOString() };
    case "JSON":
      try {
        return { value: JSON.parse(cell) };
      } catch {
        return { error: `"${cell}" is not JSON` };
      }
    default:
      return { error: `columns of type ${type} cannot be seeded from CSV` };
  }
}

/** Validates a CSV seed against its table schema; returns typed rows (empty cells become null). */
export function validateSeed(file: string, text: string, schema: TableSchema, diagnostics: Diagnostic[]): Row[] {
  const rows = parseCsv(text);
  const at = (line: number, col: number, path: (string | number)[], message: string): Diagnostic => ({
    file,
    line,
    col,
    message,
    path,
    code: "E_SEED_DATA",
  });
  const header = rows[0];
  if (!header) {
    diagnostics.push(at(1, 1, [], `seed file is empty; it needs a header row of columns of "${schema.table}"`));
    return [];
  }
  const columns = header.cells.map((name) => schema.fields.find((f) => f.name === name.trim()));
  let bad = false;
  header.cells.forEach((name, i) => {
    if (!columns[i]) {
      diagnostics.push(
        at(header.line, colOf(header.cells, i), ["header", i], `column "${name}" is not in table "${schema.table}"`),
      );
      bad = true;
    }
  });
  if (bad) return [];
  const out: Row[] = [];
  for (const r of rows.slice(1)) {
    if (r.cells.length !== columns.length) {
      diagnostics.push(
        at(r.line, 1, [`row ${r.line}`], `row has ${r.cells.length} cells, the header has ${columns.length}`),
      );
      continue;
    }
    const row: Row = {};
    r.cells.forEach((cell, i) => {
      const col = columns[i]!;
      if (cell === "") {
        if (col.mode === "REQUIRED") {
          diagnostics.push(
            at(r.line, colOf(r.cells, i), [`row ${r.line}`, col.name], `column "${col.name}" is REQUIRED`),
          );
        }
        row[col.name] = null;
        return;
      }
      const v = convert(cell, col.type);
      if ("error" in v) diagnostics.push(at(r.line, colOf(r.cells, i), [`row ${r.line}`, col.name], v.error));
      else row[col.name] = v.value;
    });
    out.push(row);
  }
  return out;
}

function colOf(cells: string[], index: number): number {
  return cells.slice(0, index).reduce((n, c) => n + c.length + 1, 1);
}
