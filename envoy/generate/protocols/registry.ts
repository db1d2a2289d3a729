import { httpProtocol } from './http.ts';
import { postgresProtocol } from './postgres.ts';
import type { ProtocolBuilder } from './protocol.ts';
import { redisProtocol } from './redis.ts';

/**
 * Every protocol the generator can build; each builder carries its own protocol name, so adding
 * postgres or redis is one builder file and one entry here.
 */
export const PROTOCOL_BUILDERS: readonly ProtocolBuilder[] = [httpProtocol, postgresProtocol, redisProtocol];
