/**
 * The --help text of the `sluice` commands that do not print their own (approvals and sessions
 * keep theirs beside their options): what each does and every option. The dispatcher prints it
 * for --help (before loading the command) and after a mistyped option (exit 2).
 */
const CONFIG = '  --config, -c FILE     the gateway config (default: $SLUICE_CONFIG)';

export const HELP: Record<string, string> = {
  gateway: `usage: sluice gateway --config sluice.yaml

Runs the whole gateway as one supervised unit: Envoy on the config generated from sluice.yaml
and the policies, ext-authz and ext-proc as child processes, and the admin port (admin.port):
/healthz, /readyz (policies, issuers' keys, stores, Envoy config accepted), /metrics, /status
and the approvals API. A child that dies is restarted with backoff (up to
gateway.maxRestartDelay). SIGTERM/SIGINT drains: Envoy closes its listeners, in-flight requests
get up to gateway.drainTimeout, then everything stops. Edits of sluice.yaml and the policies
reach Envoy live. With dev.enabled: true it also runs the DEVELOPMENT issuer and demo upstream.

${CONFIG}`,
  dev: `usage: sluice dev [--config sluice.yaml]

The gateway (see sluice gateway --help) on the embedded default, what npm start runs: the
DEVELOPMENT issuer, a demo upstream, ext-authz, ext-proc and Envoy, all on loopback.
Refuses a config without dev.enabled: true.

${CONFIG.replace('$SLUICE_CONFIG', 'deploy/sluice.dev.yaml')}`,
  'ext-authz': `usage: sluice ext-authz --config sluice.yaml [--admin-port N] [--port N] [--drain-delay Ns]

Runs the ext-authz gRPC service (Envoy's ext_authz) and its admin server (/healthz, /readyz,
/metrics, the approvals API). Follows sluice.yaml and the policy directory while it runs; a
policy directory that does not load at start refuses every request and is not ready until fixed.

${CONFIG}
  --admin-port N        the admin server's port (default: admin.port)
  --port N              the gRPC port (default: extAuthz.port); a second replica on one host needs its own
  --drain-delay Ns      on SIGTERM, how long to keep serving after reporting NOT_SERVING
                        (default: extAuthz.drain.delay, 5s); sluice gateway passes 0s, as it drains Envoy first

On SIGTERM it drains: NOT_SERVING on grpc.health.v1 and /readyz, serving on for the delay (Envoy's
health checks take it out), then no new streams (GOAWAY) and in-flight checks, approval holds
included, get extAuthz.drain.timeout (35s) to finish.`,
  'ext-proc': `usage: sluice ext-proc --config sluice.yaml [--admin-port N] [--port N] [--drain-delay Ns]
                                                 (npm run ext-proc -- --config ... adds the memory flags)

Runs the ext-proc gRPC service (Envoy's ext_proc): credential injection, streaming masking,
session recording, and its admin server (/healthz, /readyz, /metrics). Follows sluice.yaml
(credentials, masking profiles) while it runs.

${CONFIG}
  --admin-port N        the admin server's port (default: extProc.adminPort)
  --port N              the gRPC port (default: extProc.port); a second replica on one host needs its own
  --drain-delay Ns      on SIGTERM, how long to keep serving after reporting NOT_SERVING
                        (default: extProc.drain.delay, 5s); sluice gateway passes 0s, as it drains Envoy first

On SIGTERM it drains: NOT_SERVING on grpc.health.v1 and /readyz, serving on for the delay, then no
new streams (GOAWAY) and in-flight exchanges get extProc.drain.timeout (30s) to finish; their
session records are written before it exits.`,
  token: `usage: sluice token --sub NAME [--groups a,b] [--claim k=v ...] [--aud AUD] [--ttl SECONDS]

Mints a DEVELOPMENT-ONLY token from the dev issuer that npm start runs; prints it.

  --sub NAME            the subject (required)
  --groups a,b          groups claim, comma-separated
  --claim k=v           an extra claim (repeatable; JSON values are parsed)
  --aud AUD             audience (default: sluice)
  --ttl SECONDS         lifetime (default: 3600)
  --issuer-url URL      the dev issuer (default: $SLUICE_DEV_ISSUER, else http://127.0.0.1:9090)`,
  'policy check': `usage: sluice policy check [DIR] [--config sluice.yaml]

Validates a policy directory (default: policies/) and reports every mistake as file:line:col.
With a config, target and masking profile names are checked against it too.

${CONFIG}`,
  'policy explain': `usage: sluice policy explain --target NAME [--method M] [--path P] (--sub NAME [--groups a,b] [--claim k=v] | --token JWT)
       sluice policy explain --target DB --user U --database D [--sql TEXT] (--sub NAME … | --token JWT)

Says whether an identity would be allowed, and by which rule, without sending traffic.
Exits 0 when allowed, 3 otherwise (deny or approve).

  --target NAME         the target (required)
  --method M            HTTP method (default: GET)
  --path P              request path (default: /)
  --user U, --database D
                        a PostgreSQL login as database user U to database D
  --sql TEXT            a statement text in that session (parsed as PostgreSQL does)
  --sub, --issuer, --groups, --claim k=v   the identity (issuer default: dev)
  --token JWT           take the claims from a token (not verified)
  --header k=v          a request header (repeatable)
  --dir DIR             the policy directory (default: policies/)
  --json                machine-readable output`,
  'envoy render': `usage: sluice envoy render [--config sluice.yaml] [--out DIR [--watch]] [--no-validate]

Generates the whole Envoy config from sluice.yaml's targets and the policies.

${CONFIG.replace('$SLUICE_CONFIG', '$SLUICE_CONFIG, else the dev config')}
  --out DIR             write DIR/bootstrap.json (start Envoy with: envoy -c DIR/bootstrap.json)
                        and the dynamic resources DIR/cds.json, rds.json, lds.json Envoy watches
  --watch               with --out: keep rewriting the resources when sluice.yaml or a policy changes
  --no-validate         skip envoy --mode validate (it needs an Envoy binary)

Without --out, prints one static config (the same listeners, routes and clusters) to stdout.`,
  'envoy drain': `usage: sluice envoy drain [--admin-url URL] [--timeout 30s]

Drains an Envoy that runs apart from sluice gateway (e.g. as a Kubernetes preStop hook): asks its
admin interface to close every listener (no new connections; open ones keep being served), then
waits until no request is in flight or the timeout passes. Prints {"drained","active","waitedMs"};
exits 0 when everything finished, 1 when requests were still in flight at the deadline. Envoy is
not stopped: whoever runs it stops it next (SIGTERM).

  --admin-url URL       Envoy's admin interface (default: http://127.0.0.1:9901)
  --timeout 30s         how long in-flight requests may take (whole seconds; default: 30s)`,
};
