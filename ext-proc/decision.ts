import type { GatewayDecision } from '../common/decision-metadata.ts';

/**
 * @deprecated The decision is common/decision-metadata.ts's GatewayDecision. This alias only keeps
 * exchange-recording.ts (being rewritten elsewhere) compiling; delete it once that imports
 * GatewayDecision.
 */
export type ForwardedDecision = GatewayDecision;
