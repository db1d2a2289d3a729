import { Ajv } from 'ajv';
import { SluiceError } from '../../common/errors.ts';
import { schemaProblems } from '../../common/config/schema-problems.ts';
import { ISSUER_SCHEMA } from './issuer-schema.ts';
import type { IssuerConfig } from './types.ts';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, verbose: true });
ajv.addKeyword('hint');
const validate = ajv.compile(ISSUER_SCHEMA);

/**
 * Validates one issuer entry added outside sluice.yaml (the dev issuer, tests) with the same
 * schema fragment the config file is checked with, fills in the defaults and freezes the result.
 * Every problem is reported in one ERR_CONFIG_INVALID; `where` prefixes the message.
 */
export function parseIssuerConfig(raw: unknown, where: string): IssuerConfig {
  const copy = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? structuredClone(raw) : raw;
  if (!validate(copy)) {
    const problems = schemaProblems(validate.errors ?? []).map((p) => ({ option: p.path.split('/')[1] || p.missing || '(entry)', message: p.message }));
    const summary = problems.map((p) => `${p.option}: ${p.message}`).join('; ');
    throw new SluiceError('ERR_CONFIG_INVALID', `${where}: ${summary}`, { details: { where, option: problems[0]?.option, problems } });
  }
  return freezeIssuer(copy as IssuerConfig);
}

/** Shared by both paths (config file, run-time entries): the verifier keeps these objects. */
export function freezeIssuer(config: IssuerConfig): IssuerConfig {
  const out: IssuerConfig = {
    ...config,
    audiences: Object.freeze([...new Set(config.audiences)]) as string[],
    algorithms: Object.freeze([...new Set(config.algorithms)]) as string[],
    requiredClaims: Object.freeze([...new Set(config.requiredClaims)]) as string[],
  };
  return Object.freeze(out);
}
