/** A small client for the approvals API, as an approver's tool would call it. */
export async function approvalsCall(baseUrl: string, token: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

export async function pendingFor(baseUrl: string, token: string, subject: string): Promise<any[]> {
  const res = await approvalsCall(baseUrl, token, 'GET', `/approvals?status=pending&subject=${encodeURIComponent(subject)}`);
  if (res.status !== 200) throw new Error(`list failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.approvals ?? res.body;
}
