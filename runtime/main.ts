/** `deno task start`: serve the product; SIGINT/SIGTERM shut it down gracefully. */
import { startServer } from "./server.ts";
import { AppError } from "../src/errors/mod.ts";

if (import.meta.main) {
  try {
    const server = await startServer();
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, async () => {
        await server.shutdown();
        Deno.exit(0);
      });
    }
  } catch (err) {
    if (err instanceof AppError && err.code === "CONFIG_INVALID") {
      console.error(err.message);
      Deno.exit(1);
    }
    throw err;
  }
}
