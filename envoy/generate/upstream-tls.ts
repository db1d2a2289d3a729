import { isIP } from 'node:net';
import type { EnvoyObject, TargetSpec, TargetTls } from './types.ts';

/** Debian/Ubuntu/Alpine path of the system trust store; used when a target names no CA. */
export const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/**
 * TLS to an upstream is always verified: the chain against the target's CA (or the system
 * bundle), and the peer's name against its subjectAltNames. With none declared, the name
 * expected is the SNI, else each endpoint's host, so a certificate merely signed by a trusted
 * CA for some other name is refused.
 */
export function upstreamTlsSocket(target: TargetSpec, tls: TargetTls): EnvoyObject {
  const firstName = target.endpoints.find((e) => isIP(e.host) === 0)?.host;
  const sni = tls.sni ?? firstName;
  const validation: EnvoyObject = {
    trusted_ca: { filename: tls.caFile ?? SYSTEM_CA_BUNDLE },
    match_typed_subject_alt_names: expectedNames(target, tls, sni),
  };
  const common: EnvoyObject = { validation_context: validation };
  if (tls.certFile && tls.keyFile) {
    common.tls_certificates = [{ certificate_chain: { filename: tls.certFile }, private_key: { filename: tls.keyFile } }];
  }
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      ...(sni ? { sni } : {}),
      common_tls_context: common,
    },
  };
}

function expectedNames(target: TargetSpec, tls: TargetTls, sni: string | undefined): EnvoyObject[] {
  if (tls.subjectAltNames.length > 0) return tls.subjectAltNames.map((name) => ({ san_type: 'DNS', matcher: { exact: name } }));
  if (tls.sni) return [{ san_type: 'DNS', matcher: { exact: tls.sni } }];
  const hosts = [...new Set(target.endpoints.map((e) => e.host))];
  return hosts.map((host) => ({ san_type: isIP(host) === 0 ? 'DNS' : 'IP_ADDRESS', matcher: { exact: host } }));
}
