import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../common/errors.ts';

export const GATEWAY_TEMPLATE = fileURLToPath(new URL('./gateway.yaml', import.meta.url));

export interface GatewayPorts {
  listenAddress?: string;
  adminAddress?: string;
  listenPort: number;
  adminPort: number;
  /** One ext-authz replica, or several (they must share an approvals store, i.e. Redis). */
  extAuthz: { host: string; port: number } | { host: string; port: number }[];
  /** ext-proc replicas (stateless; any may take any exchange). */
  extProc: { host: string; port: number } | { host: string; port: number }[];
  upstream: { host: string; port: number };
  /** ext_authz gRPC timeout, e.g. "1s". Must exceed the longest approval hold once approvals exist. */
  extAuthzTimeout?: string;
  /** ext_authz timeout on routes that may hold for an approval, e.g. "30s". */
  approvalTimeout?: string;
  /** Route timeout for the whole response ("0s": none, so long-lived streams are not cut). */
  routeTimeout?: string;
  /** Route idle timeout: a stream with no bytes either way for this long is reset. */
  routeIdleTimeout?: string;
}

/** Fills a template's ${NAME} placeholders; a placeholder without a value is an error, never left in. */
export function renderTemplate(template: string, values: Readonly<Record<string, string | number>>, file = 'template'): string {
  const missing = new Set<string>();
  const out = template.replace(/\$\{([A-Z0-9_]+)\}/g, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined) {
      missing.add(name);
      return '';
    }
    return String(value);
  });
  if (missing.size > 0) {
    throw new SluiceError('ERR_CONFIG_INVALID', `${file}: no value for ${[...missing].join(', ')}`, { details: { missing: [...missing] } });
  }
  return out;
}

export function renderGateway(ports: GatewayPorts, templateFile = GATEWAY_TEMPLATE): string {
  const approvalTimeout = ports.approvalTimeout ?? '30s';
  return renderTemplate(readFileSync(templateFile, 'utf8'), {
    LISTEN_ADDRESS: ports.listenAddress ?? '127.0.0.1',
    LISTEN_PORT: ports.listenPort,
    ADMIN_ADDRESS: ports.adminAddress ?? '127.0.0.1',
    ADMIN_PORT: ports.adminPort,
    EXT_AUTHZ_ENDPOINTS: endpointList([ports.extAuthz].flat()),
    EXT_AUTHZ_TIMEOUT: ports.extAuthzTimeout ?? '1s',
    EXT_PROC_ENDPOINTS: endpointList([ports.extProc].flat()),
    // The stream lives as long as the exchange; each message must be answered within 1 s.
    EXT_PROC_TIMEOUT: '300s',
    EXT_PROC_MESSAGE_TIMEOUT: '1s',
    APPROVAL_TIMEOUT: approvalTimeout,
    // Hold at most one second less than Envoy waits, so the answer always arrives in time.
    APPROVAL_MAX_HOLD_MS: Math.max(0, (Number.parseInt(approvalTimeout, 10) - 1) * 1000),
    ROUTE_TIMEOUT: ports.routeTimeout ?? '0s',
    ROUTE_IDLE_TIMEOUT: ports.routeIdleTimeout ?? '300s',
    UPSTREAM_HOST: ports.upstream.host,
    UPSTREAM_PORT: ports.upstream.port,
  }, templateFile);
}

/** A YAML flow sequence of Envoy lb_endpoints, one per address. */
function endpointList(addresses: { host: string; port: number }[]): string {
  const items = addresses.map((a) => `{ endpoint: { address: { socket_address: { address: ${a.host}, port_value: ${a.port} } } } }`);
  return `[${items.join(', ')}]`;
}
