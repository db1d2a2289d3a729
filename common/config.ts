/**
 * The operator's gateway configuration (sluice.yaml): one schema assembled from each module's
 * fragment, validated once (every problem with file:line:col), normalised and frozen.
 */
export type { SluiceConfig, TargetConfig, PostgresTargetConfig, SessionRolesConfig, CredentialEntry, Endpoint, ConfigIssue } from './config/types.ts';
export { loadConfig, parseConfig, configPosition, ConfigError, formatConfigIssue, isIpLiteral } from './config/load.ts';
export { ConfigStore, type ConfigSubscriber, type ApplyOutcome } from './config/config-store.ts';
