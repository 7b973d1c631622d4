// One plain HTTP GET for the tests (global fetch): status, body text and headers (lower case).
export async function httpGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, string> }> {
  const res = await fetch(url, { headers });
  const names: Record<string, string> = {};
  res.headers.forEach((value, name) => (names[name] = value));
  return { status: res.status, body: await res.text(), headers: names };
}
