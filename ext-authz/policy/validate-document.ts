import { Ajv } from 'ajv';
import { schemaProblems, type DocumentProblem } from '../../common/config/schema-problems.ts';
import { POLICY_DOCUMENT_SCHEMA } from './schema.ts';

export type { DocumentProblem } from '../../common/config/schema-problems.ts';

// Compiled once per process: schema compilation is the expensive part of ajv.
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
ajv.addKeyword('hint');
ajv.addKeyword('moved');
const validate = ajv.compile(POLICY_DOCUMENT_SCHEMA);

/** Checks one parsed document against the schema and returns every problem, not just the first. */
export function validateDocument(value: unknown): DocumentProblem[] {
  if (validate(value)) return [];
  return schemaProblems(validate.errors ?? []);
}
