/** A deterministic Cloud Billing export (standard export schema, JSONL) for the demo's GCP integration. */

const SERVICES = [
  {
    id: "6F81-5844-456A",
    description: "Compute Engine",
    sku: { id: "2E27-4F75-95CD", description: "N1 Predefined Instance Core" },
    unit: "seconds",
    rate: 0.031611,
  },
  {
    id: "24E6-581D-38E5",
    description: "BigQuery",
    sku: { id: "F62D-D3DC-1B5E", description: "Analysis" },
    unit: "bytes",
    rate: 0.0000000000625,
  },
  {
    id: "95FF-2EF5-5EA1",
    description: "Cloud Storage",
    sku: { id: "E5F0-6A5D-7BAD", description: "Standard Storage US" },
    unit: "byte-seconds",
    rate: 0.0000000000000077,
  },
];

export function demoBillingExport(today: Date, days: number): string {
  const lines: string[] = [];
  for (let d = days; d >= 1; d--) {
    const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - d));
    const iso = day.toISOString().slice(0, 10);
    SERVICES.forEach((s, i) => {
      const amount = 3600 * (20 + ((d * 7 + i * 13) % 17)) * (i === 0 ? 1 : i === 1 ? 1e9 : 1e12);
      const cost = Math.round(amount * s.rate * 1e6) / 1e6;
      const credit = i === 0 ? -Math.round(cost * 0.2 * 1e6) / 1e6 : 0;
      lines.push(JSON.stringify({
        billing_account_id: "01D3MO-BILL00-000001",
        service: { id: s.id, description: s.description },
        sku: s.sku,
        usage_start_time: `${iso}T00:00:00Z`,
        usage_end_time: `${iso}T23:59:59Z`,
        project: { id: "demo-project", name: "Demo Project", labels: [] },
        labels: [{ key: "team", value: i === 0 ? "platform" : "data" }],
        location: { region: "us-central1" },
        cost,
        currency: "USD",
        usage: { amount, unit: s.unit },
        credits: credit ? [{ name: "Sustained use discount", amount: credit, type: "SUSTAINED_USAGE_DISCOUNT" }] : [],
        invoice: { month: iso.slice(0, 7).replace("-", "") },
        cost_type: "regular",
      }));
    });
  }
  return lines.join("\n") + "\n";
}
