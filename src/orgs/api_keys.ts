/**
 * Transitional: the central dataset's name for modules not yet moved to the central stores (pricing, scheduler,
 * cost processors). New code imports it from src/central/tables.ts; this file goes once nothing imports it.
 */
export { CENTRAL_DATASET } from "../central/tables.ts";
