/** The one refusal type of the pricing domain, rendered by the routes as the API's error shape. */

/** A refusal meant for the API caller: a status, a stable code and a message naming the item or field. */
export class PricingError extends Error {
  constructor(readonly status: 400 | 404 | 409, readonly code: string, message: string) {
    super(message);
    this.name = "PricingError";
  }
}
