/**
 * Finds `@name` query parameters in SQL, outside string literals, quoted
 * identifiers and comments, and optionally rewrites them (DuckDB spells them
 * `$name`). `@@system_variables` are left alone.
 */
import type { QueryParams } from "./warehouse.ts";

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The SQL with `@name` rewritten by `rename`, and the parameter names used (in order, unique). */
export function scanParams(sql: string, rename?: (name: string) => string): { sql: string; names: string[] } {
  const names: string[] = [];
  let out = "";
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    let end = i + 1;
    if (c === "'" || c === '"' || c === "`") {
      end = skipQuoted(sql, i, c);
    } else if (c === "-" && next === "-") {
      end = sql.indexOf("\n", i);
      end = end < 0 ? n : end;
    } else if (c === "/" && next === "*") {
      end = sql.indexOf("*/", i + 2);
      end = end < 0 ? n : end + 2;
    } else if (c === "@" && next !== "@" && sql[i - 1] !== "@") {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1, i + 130));
      if (m) {
        const name = m[0];
        if (!names.includes(name)) names.push(name);
        out += rename ? rename(name) : `@${name}`;
        i += 1 + name.length;
        continue;
      }
    }
    out += sql.slice(i, end);
    i = end;
  }
  return { sql: out, names };
}

/** Index just past the quoted run starting at `start`: doubled quotes and backslashes escape. */
function skipQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "\\") {
      i += 2;
    } else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return sql.length;
}

/**
 * Picks the parameters the SQL uses.
 * @throws {Error} when a used parameter is missing or a given name is not an identifier
 */
export function usedParams(
  names: readonly string[],
  params: QueryParams | undefined,
): Array<[string, QueryParams[string]]> {
  const given = params ?? {};
  for (const key of Object.keys(given)) {
    if (!PARAM_NAME.test(key)) throw new Error(`Invalid query parameter name ${JSON.stringify(key)}`);
  }
  return names.map((name) => {
    if (!Object.hasOwn(given, name) || given[name] === undefined) {
      throw new Error(`Query parameter "@${name}" is used in the SQL but not given`);
    }
    return [name, given[name]!];
  });
}
