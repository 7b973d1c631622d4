// /metrics answers only a request bearing BANK_METRICS_TOKEN (security W12): the test servers get
// this token, and tests read the metrics through metricsText.

/** The BANK_METRICS_TOKEN of every test server. */
export const TEST_METRICS_TOKEN = "test-metrics-token-0123456789";

/** GET /metrics of the server at `baseUrl`, as text (throws unless 200). */
export async function metricsText(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`, { headers: { authorization: `Bearer ${TEST_METRICS_TOKEN}` } });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return res.text();
}
