// The container health check (Docker HEALTHCHECK, Compose, Kubernetes exec probes): exits 0 when
// the URL answers 2xx in time, 1 otherwise. Plain JavaScript with no imports, so it starts fast and
// needs neither tsx nor curl in the image.
//   node healthcheck.mjs [URL]      default: $SLUICE_HEALTHCHECK_URL, else the gateway's /readyz
const url = process.argv[2] ?? process.env.SLUICE_HEALTHCHECK_URL ?? 'http://127.0.0.1:9080/readyz';
const timeoutMs = Number(process.env.SLUICE_HEALTHCHECK_TIMEOUT_MS ?? 3000);
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await res.body?.cancel();
  if (!res.ok) process.stderr.write(`${url}: HTTP ${res.status}\n`);
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  process.stderr.write(`${url}: ${err?.cause?.code ?? err?.name ?? 'error'}\n`);
  process.exit(1);
}
