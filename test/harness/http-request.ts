/** What an e2e request sends: a method, a bearer token, headers and a body, all optional. */
export interface RequestInit {
  method?: string;
  token?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Sends one request (a bearer token when given) and reads the whole answer, for the harness gateways. */
export async function sendRequest(url: string, init: RequestInit = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as any };
}
