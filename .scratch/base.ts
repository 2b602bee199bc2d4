import { DuckDBInstance, DuckDBDataChunk, dateValue, timestampTZValue } from "@duckdb/node-api";
const N = 1_000_000;
const dir = await Deno.makeTempDir();
const inst = await DuckDBInstance.create(`${dir}/b.duckdb`);
const c = await inst.connect();
await c.run(`CREATE TABLE t (usage_date DATE NOT NULL, bucket_start_time TIMESTAMPTZ NOT NULL, bucket_end_time TIMESTAMPTZ NOT NULL, model VARCHAR, project_id VARCHAR, api_key_id VARCHAR, user_id VARCHAR, batch BOOLEAN, input_tokens BIGINT NOT NULL, input_cached_tokens BIGINT NOT NULL, output_tokens BIGINT NOT NULL, input_audio_tokens BIGINT, output_audio_tokens BIGINT, num_model_requests BIGINT NOT NULL, run_id VARCHAR NOT NULL, ingested_at TIMESTAMPTZ NOT NULL)`);
await c.run(`CREATE TABLE t2 AS SELECT * FROM t`);
const mode = Deno.args[0] ?? "chunk";
// pre-generate column arrays
const day0 = 19700;
const cols: unknown[][] = Array.from({length:16}, () => new Array(N));
for (let i = 0; i < N; i++) {
  const d = day0 + Math.floor(i / 4000);
  cols[0][i] = dateValue(d); cols[1][i] = timestampTZValue(BigInt(d) * 86400000000n); cols[2][i] = timestampTZValue(BigInt(d+1) * 86400000000n);
  cols[3][i] = `model-${i % 80}`; cols[4][i] = `proj_${Math.floor(i/80)%50}`; cols[5][i] = null; cols[6][i] = null; cols[7][i] = false;
  cols[8][i] = BigInt(i*3); cols[9][i] = BigInt(i); cols[10][i] = BigInt(i*2); cols[11][i] = 0n; cols[12][i] = 0n; cols[13][i] = BigInt(i%900);
  cols[14][i] = "run-1"; cols[15][i] = timestampTZValue(1700000000000000n);
}
const t0 = performance.now();
const app = await c.createAppender("t");
const types = Array.from({length:16}, (_, i) => app.columnType(i));
if (mode === "chunk") {
  for (let s = 0; s < N; s += 2048) {
    const n = Math.min(2048, N - s);
    const ch = DuckDBDataChunk.create(types, n);
    for (let k = 0; k < 16; k++) ch.setColumnValues(k, cols[k].slice(s, s + n) as never);
    app.appendDataChunk(ch);
  }
} else {
  for (let i = 0; i < N; i++) {
    app.appendDate(cols[0][i] as never); app.appendTimestampTZ(cols[1][i] as never); app.appendTimestampTZ(cols[2][i] as never);
    app.appendVarchar(cols[3][i] as string); app.appendVarchar(cols[4][i] as string); app.appendNull(); app.appendNull(); app.appendBoolean(false);
    app.appendBigInt(cols[8][i] as bigint); app.appendBigInt(cols[9][i] as bigint); app.appendBigInt(cols[10][i] as bigint); app.appendBigInt(0n); app.appendBigInt(0n); app.appendBigInt(cols[13][i] as bigint);
    app.appendVarchar("run-1"); app.appendTimestampTZ(cols[15][i] as never);
    app.endRow();
  }
}
app.flushSync(); app.closeSync();
const t1 = performance.now();
console.log(mode, Math.round(t1 - t0), "ms");
const r = await c.runAndReadAll("select count(*) from t"); console.log(r.getRows());
