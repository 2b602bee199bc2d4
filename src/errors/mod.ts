/** The product's one error type and its helpers; see `app_error.ts` and `codes.ts`. */
export { AppError, type AppErrorInit, findAppError } from "./app_error.ts";
export { DEPENDENCY_CODES, TRANSIENT_CODES } from "./codes.ts";
