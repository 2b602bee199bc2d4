/** Every route of the API, in mount order: what runtime/app.ts mounts and runtime/openapi.ts documents. */
import type { Route } from "../route.ts";
import { systemRoutes } from "./system.ts";
import { docsRoutes } from "../docs.ts";
import { pipelineRoutes } from "./pipelines.ts";
import { organizationRoutes } from "./organizations.ts";
import { integrationRoutes } from "./integrations.ts";
import { runRoutes } from "./runs.ts";
import { schedulerRoutes } from "./scheduler.ts";
import { pricingRoutes } from "./pricing.ts";
import { unitPricingRoutes } from "./unit_pricing.ts";
import { subscriptionRoutes } from "./subscriptions.ts";
import { costRoutes } from "./costs.ts";
import { reconciliationRoutes } from "./reconciliation.ts";
import { quotaRoutes } from "./quota.ts";

export const API_ROUTES: readonly Route[] = [
  ...systemRoutes,
  ...docsRoutes,
  ...pipelineRoutes,
  ...organizationRoutes,
  ...integrationRoutes,
  ...runRoutes,
  ...schedulerRoutes,
  ...pricingRoutes,
  ...unitPricingRoutes,
  ...subscriptionRoutes,
  ...costRoutes,
  ...reconciliationRoutes,
  ...quotaRoutes,
];
