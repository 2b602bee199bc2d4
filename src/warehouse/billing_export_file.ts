/**
 * Reads a Cloud Billing export file (embedded default) with DuckDB into the flat columns of
 * `gcp_billing_daily_raw`. JSONL/JSON is read with the standard export schema declared (numbers as text, so no
 * type guessing); Parquet keeps its own nested types; CSV, which cannot nest, may carry the nested fields as
 * JSON text (`service` = `{"id":..}`) or flattened (`service.id` or `service_id`). Every amount is cast to
 * DECIMAL(38, 9) in SQL and net cost = cost + sum(credits[].amount) is computed there too, and so is the flattening
 * into `gcp_billing_daily_raw` rows: the warehouse inserts them itself, none passes through JavaScript. Used by the
 * `gcp.bq_etl` processor and the GCP integration's check that the file is readable.
 */
import type { LoadQuery, Warehouse } from "./warehouse.ts";

type Kind = "text" | "decimal" | "timestamp" | "json";

/** Output column, path in the export schema, kind. */
const FIELDS: readonly (readonly [string, readonly string[], Kind])[] = [
  ["billing_account_id", ["billing_account_id"], "text"],
  ["service_id", ["service", "id"], "text"],
  ["service_description", ["service", "description"], "text"],
  ["sku_id", ["sku", "id"], "text"],
  ["sku_description", ["sku", "description"], "text"],
  ["project_id", ["project", "id"], "text"],
  ["project_name", ["project", "name"], "text"],
  ["location_region", ["location", "region"], "text"],
  ["usage_start_time", ["usage_start_time"], "timestamp"],
  ["usage_end_time", ["usage_end_time"], "timestamp"],
  ["usage_amount", ["usage", "amount"], "decimal"],
  ["usage_unit", ["usage", "unit"], "text"],
  ["usage_amount_in_pricing_units", ["usage", "amount_in_pricing_units"], "decimal"],
  ["pricing_unit", ["usage", "pricing_unit"], "text"],
  ["list_cost", ["cost_at_list"], "decimal"],
  ["cost", ["cost"], "decimal"],
  ["credits", ["credits"], "json"],
  ["currency", ["currency"], "text"],
  ["currency_conversion_rate", ["currency_conversion_rate"], "decimal"],
  ["invoice_month", ["invoice", "month"], "text"],
  ["cost_type", ["cost_type"], "text"],
  ["labels", ["labels"], "json"],
  ["project_labels", ["project", "labels"], "json"],
  ["export_time", ["export_time"], "timestamp"],
];

const KEY_VALUE = "STRUCT(key VARCHAR, value VARCHAR)[]";
/** The standard export schema as read_json declares it: amounts as text (exact), records as structs. */
const JSON_COLUMNS: Record<string, string> = {
  billing_account_id: "VARCHAR",
  service: "STRUCT(id VARCHAR, description VARCHAR)",
  sku: "STRUCT(id VARCHAR, description VARCHAR)",
  usage_start_time: "VARCHAR",
  usage_end_time: "VARCHAR",
  project: `STRUCT(id VARCHAR, number VARCHAR, name VARCHAR, labels ${KEY_VALUE})`,
  labels: KEY_VALUE,
  location: "STRUCT(location VARCHAR, country VARCHAR, region VARCHAR, zone VARCHAR)",
  export_time: "VARCHAR",
  cost: "VARCHAR",
  cost_at_list: "VARCHAR",
  currency: "VARCHAR",
  currency_conversion_rate: "VARCHAR",
  usage: "STRUCT(amount VARCHAR, unit VARCHAR, amount_in_pricing_units VARCHAR, pricing_unit VARCHAR)",
  credits: "STRUCT(name VARCHAR, amount DOUBLE, full_name VARCHAR, id VARCHAR, type VARCHAR)[]",
  invoice: "STRUCT(month VARCHAR)",
  cost_type: "VARCHAR",
};

/** DuckDB's reader for an import file, by extension. */
export function readerFor(path: string): string {
  if (/\.parquet$/i.test(path)) return "read_parquet";
  if (/\.csv$/i.test(path)) return "read_csv_auto";
  return "read_json_auto";
}

const DEC = "DECIMAL(38, 9)";
const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;

/** The DuckDB table function reading `path` (already resolved under imports/ by `importPath`). */
export function fileReader(path: string): string {
  const reader = readerFor(path);
  if (reader === "read_parquet") return `read_parquet(${literal(path)})`;
  if (reader === "read_csv_auto") return `read_csv(${literal(path)}, header = true, all_varchar = true)`;
  const columns = Object.entries(JSON_COLUMNS).map(([k, v]) => `${k}: ${literal(v)}`).join(", ");
  return `read_json(${literal(path)}, format = 'auto', columns = {${columns}})`;
}

/** Top-level members of a DuckDB `STRUCT(...)` type, with their types; null when `type` is not a struct. */
export function structMembers(type: string): Map<string, string> | null {
  const m = /^STRUCT\((.*)\)$/s.exec(type.trim());
  if (!m) return null;
  const members = new Map<string, string>();
  let depth = 0;
  let start = 0;
  const body = m[1]!;
  const push = (part: string) => {
    const pm = /^\s*(?:"((?:[^"]|"")+)"|([^\s"]+))\s+(.+?)\s*$/s.exec(part);
    if (pm) members.set((pm[1] ?? pm[2]!).replaceAll('""', '"'), pm[3]!);
  };
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      push(body.slice(start, i));
      start = i + 1;
    }
  }
  push(body.slice(start));
  return members;
}

/** Finds a field of the export schema among the file's columns: nested struct, JSON text, or flattened. */
function locate(columns: Map<string, string>, path: readonly string[]): { sql: string; type: string } | null {
  const [top, member] = path as [string, string | undefined];
  const type = columns.get(top);
  if (member === undefined) return type === undefined ? null : { sql: ident(top), type };
  if (type !== undefined) {
    const memberType = structMembers(type)?.get(member);
    if (memberType !== undefined) return { sql: `${ident(top)}.${ident(member)}`, type: memberType };
    if (type === "VARCHAR" || type === "JSON") {
      return { sql: `json_extract(CAST(${ident(top)} AS JSON), ${literal(`$.${member}`)})`, type: "JSON" };
    }
  }
  for (const flat of [`${top}.${member}`, `${top}_${member}`]) {
    const t = columns.get(flat);
    if (t !== undefined) return { sql: ident(flat), type: t };
  }
  return null;
}

function convert(found: { sql: string; type: string } | null, kind: Kind): string {
  const target = { text: "VARCHAR", decimal: DEC, timestamp: "TIMESTAMPTZ", json: "JSON" }[kind];
  if (found === null) return `CAST(NULL AS ${target})`;
  if (kind === "json") {
    return found.type === "VARCHAR" || found.type === "JSON" ? `CAST(${found.sql} AS JSON)` : `to_json(${found.sql})`;
  }
  const scalar = found.type === "JSON" ? `json_extract_string(${found.sql}, '$')` : found.sql;
  if (kind === "text") return `CAST(${scalar} AS VARCHAR)`;
  if (found.type !== "VARCHAR" && found.type !== "JSON") return `CAST(${scalar} AS ${target})`;
  // Empty CSV cells and blank strings are missing values, not zero.
  const value = `NULLIF(TRIM(${scalar}), '')`;
  return kind === "decimal" ? decimalFromText(value) : timestampFromText(value);
}

/**
 * Text to DECIMAL(38, 9), exactly, fast: DuckDB parses text into a 38-digit decimal 30-100 times slower than into
 * an 18-digit one, which holds every amount below 1e9 (the same rounding to 9 decimals); larger ones, and text that
 * is no number at all (so it fails as before), take the 38-digit cast.
 */
function decimalFromText(text: string): string {
  return `COALESCE(CAST(TRY_CAST(${text} AS DECIMAL(18, 9)) AS ${DEC}), CAST(${text} AS ${DEC}))`;
}

/** Text to TIMESTAMPTZ; the export's " UTC" suffix is read as the offset "+00" (a zone name costs a time-zone lookup). */
function timestampFromText(text: string): string {
  return `CAST(regexp_replace(${text}, ' UTC$', '+00') AS TIMESTAMPTZ)`;
}

/** The SELECT over `reader` producing the flat export rows of [@start, @end] (usage_start_time's UTC day). */
export function exportFileSql(reader: string, columns: Map<string, string>): string {
  const exprs = FIELDS.map(([out, path, kind]) => `${convert(locate(columns, path), kind)} AS ${out}`);
  const credits = convert(locate(columns, ["credits"]), "json");
  const creditsTotal = `COALESCE(list_sum(list_transform(json_extract_string(${credits}, '$[*].amount'), ` +
    `a -> ${decimalFromText("a")})), CAST(0 AS ${DEC}))`;
  return `SELECT *, cost + credits_total AS net_cost FROM (
    SELECT CAST(${convert(locate(columns, ["usage_start_time"]), "timestamp")} AS DATE) AS usage_date,
      ${exprs.join(",\n      ")},
      ${creditsTotal} AS credits_total
    FROM ${reader}
  ) AS x
  WHERE usage_date BETWEEN CAST(@start AS DATE) AND CAST(@end AS DATE)`;
}

/**
 * Export labels (`[{key, value}]`, as JSON) as the `{key: value}` object the table stores, in SQL: a JSON object
 * stays as it is, anything else is NULL; items without a key are skipped, a NULL value is "" (a repeated key is
 * kept twice in the text, and the later one wins when it is read back, as the export never repeats one).
 */
function labelsObject(json: string): string {
  const items = `json_transform(${json}, '[{"key":"VARCHAR","value":"VARCHAR"}]')`;
  const pairs = `list_transform(list_filter(${items}, l -> l.key IS NOT NULL), ` +
    `l -> CAST(to_json(l.key) AS VARCHAR) || ':' || CAST(to_json(COALESCE(l.value, '')) AS VARCHAR))`;
  return `CASE json_type(${json}) WHEN 'ARRAY' THEN CAST('{' || array_to_string(${pairs}, ',') || '}' AS JSON) ` +
    `WHEN 'OBJECT' THEN ${json} END`;
}

/**
 * The SELECT over the file at `path` (the caller resolved it under DATA_DIR/imports/) yielding the
 * `gcp_billing_daily_raw` rows of [start, end] (credits as a JSON array, [] when missing; labels as objects), for
 * the warehouse to insert itself (`Warehouse.replacePartitionsWith`): no row passes through JavaScript.
 * @throws {Error} when DuckDB cannot read the file or it lacks `usage_start_time` or `cost`
 */
export async function exportFileLoad(
  wh: Warehouse,
  path: string,
  range: { from: string; to: string },
  run: { runId: string; now: string },
): Promise<LoadQuery> {
  const reader = fileReader(path);
  const described = await wh.query<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${reader}`);
  const columns = new Map(described.map((c) => [c.column_name, c.column_type]));
  for (const required of ["usage_start_time", "cost"]) {
    if (!columns.has(required)) throw new Error(`The billing export file has no "${required}" column`);
  }
  const sql = `SELECT usage_date, billing_account_id, service_id, service_description, sku_id, sku_description,
      project_id, project_name, location_region, usage_start_time, usage_end_time, usage_amount, usage_unit,
      usage_amount_in_pricing_units, pricing_unit, list_cost, cost, credits_total, net_cost,
      CASE json_type(credits) WHEN 'ARRAY' THEN credits ELSE CAST('[]' AS JSON) END AS credits,
      currency, currency_conversion_rate, invoice_month, cost_type,
      ${labelsObject("labels")} AS labels, ${labelsObject("project_labels")} AS project_labels, export_time,
      CAST(@run_id AS VARCHAR) AS run_id, CAST(@ingested_at AS TIMESTAMPTZ) AS ingested_at
    FROM (${exportFileSql(reader, columns)}) AS export_rows`;
  return { sql, params: { start: range.from, end: range.to, run_id: run.runId, ingested_at: run.now } };
}

/**
 * Reads the first row of the import file at `path` (resolved under imports/ and matched against a strict pattern
 * by the caller, never raw input) with DuckDB's reader for its extension.
 * @throws {Error} when DuckDB cannot read it
 */
export async function probeExportFile(wh: Warehouse, path: string): Promise<void> {
  await wh.query(`SELECT * FROM ${readerFor(path)}(${literal(path)}) LIMIT 1`);
}
