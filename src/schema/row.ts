/** A warehouse row: column name to a JSON-friendly value (NUMERIC as decimal string, DATE as YYYY-MM-DD). */
export type Row = Record<string, unknown>;
