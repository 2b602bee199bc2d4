/** The product's one error type and its helpers; see `app_error.ts`. */
export { AppError, type AppErrorInit, findAppError } from "./app_error.ts";
