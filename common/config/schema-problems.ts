import type { ErrorObject } from 'ajv';

/** A problem inside one document, before it is tied to a file position. */
export interface DocumentProblem {
  /** JSON pointer into the document, e.g. `/policies/0/rules/1/effect`. */
  path: string;
  /** Point at the mapping key named by the last path segment rather than at its value. */
  atKey: boolean;
  message: string;
  /** For a missing required field: its name (the path points at the mapping that lacks it). */
  missing?: string;
}

/**
 * Turns ajv's errors into problems an author can act on: one per mistake, pointing at the key of
 * an unknown field, with the schema's `hint` annotation instead of ajv's wording where one is
 * given. Used by every schema-validated document (sluice.yaml, policy files), so both speak alike.
 */
export function schemaProblems(errors: readonly ErrorObject[]): DocumentProblem[] {
  const problems: DocumentProblem[] = [];
  for (const error of errors) {
    // A bad key yields two errors: the detailed one (with propertyName) and a generic
    // "property name must be valid" on the object; keep the detailed one.
    if (error.keyword === 'propertyNames' || isInsideFailedAnyOf(error, errors)) continue;
    problems.push(toProblem(error));
  }
  return dedupe(problems);
}

/** An anyOf/oneOf failure already says what was expected; its branches' errors are noise. */
function isInsideFailedAnyOf(error: ErrorObject, all: readonly ErrorObject[]): boolean {
  return all.some(
    (other) =>
      other !== error &&
      (other.keyword === 'anyOf' || other.keyword === 'oneOf') &&
      error.schemaPath.startsWith(`${other.schemaPath}/`) &&
      (error.instancePath === other.instancePath || error.instancePath.startsWith(`${other.instancePath}/`)),
  );
}

function toProblem(error: ErrorObject): DocumentProblem {
  const hint = hintOf(error.parentSchema);
  const params = error.params as Record<string, unknown>;
  if (error.propertyName !== undefined) {
    return {
      path: `${error.instancePath}/${escapePointer(error.propertyName)}`,
      atKey: true,
      message: hint ?? `invalid key "${error.propertyName}": ${error.message ?? 'is invalid'}`,
    };
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const moved = (error.parentSchema as { moved?: Record<string, string> } | undefined)?.moved?.[field];
      const allowed = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      return {
        path: `${error.instancePath}/${escapePointer(field)}`,
        atKey: true,
        message: moved ?? `unknown field "${field}"${allowed.length > 0 ? ` (expected one of: ${allowed.join(', ')})` : ''}`,
      };
    }
    case 'required':
      return { path: error.instancePath, atKey: false, message: `missing required field "${String(params.missingProperty)}"`, missing: String(params.missingProperty) };
    case 'enum':
      return { path: error.instancePath, atKey: false, message: hint ?? `must be one of: ${(params.allowedValues as unknown[]).map(String).join(', ')}` };
    case 'type':
      return { path: error.instancePath, atKey: false, message: `must be ${describeType(params.type)}` };
    case 'minItems':
      return { path: error.instancePath, atKey: false, message: hint ?? 'must be a non-empty list' };
    case 'minLength':
      return { path: error.instancePath, atKey: false, message: 'must not be empty' };
    default:
      return { path: error.instancePath, atKey: false, message: hint ?? error.message ?? 'is invalid' };
  }
}

function dedupe(problems: DocumentProblem[]): DocumentProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\0${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function hintOf(schema: unknown): string | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  const hint = (schema as { hint?: unknown }).hint;
  return typeof hint === 'string' ? hint : undefined;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', integer: 'an integer', boolean: 'true or false',
};

function describeType(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(',');
  return types.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ');
}

export function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}
