import { STATEMENT_CLASSES } from '../../common/postgres-check.ts';
import { EFFECTS } from './effects.ts';
import { REDIS_COMMAND_CLASSES } from '../../common/redis/commands.ts';

/*
 * JSON schema of one policy document. `additionalProperties: false` everywhere, so a typo
 * (`rule:` for `rules:`, `method:` for `methods:`) is an error instead of a silently ignored
 * field that widens or narrows access. `hint` is an annotation read by validate-document.ts to
 * replace ajv's generic wording (e.g. "must match pattern ^[a-z0-9]...") with advice.
 */

const NAME = {
  type: 'string',
  maxLength: 128,
  pattern: '^[a-z0-9][a-z0-9._-]*$',
  hint: 'must be lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
} as const;

const CLAIM_PATH = {
  type: 'string',
  maxLength: 256,
  pattern: '^[^.]+(\\.[^.]+)*$',
  hint: 'must be a claim name; dots reach nested claims (e.g. "kubernetes.io.namespace")',
} as const;

const HEADER_NAME = {
  type: 'string',
  maxLength: 256,
  pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
  hint: 'must be an HTTP header name (letters, digits and !#$%&\'*+.^_`|~-)',
} as const;

const SCALAR = { type: ['string', 'number', 'boolean'] } as const;

const NON_EMPTY_STRINGS = {
  type: 'array',
  minItems: 1,
  items: { type: 'string', minLength: 1 },
} as const;

const SUBJECT = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  hint: 'a subject entry needs at least one of issuer, users, groups, claims',
  properties: {
    issuer: { type: 'string', minLength: 1 },
    users: NON_EMPTY_STRINGS,
    groups: NON_EMPTY_STRINGS,
    claims: {
      type: 'object',
      minProperties: 1,
      propertyNames: CLAIM_PATH,
      additionalProperties: {
        anyOf: [SCALAR, { type: 'array', minItems: 1, items: SCALAR }],
        hint: 'must be a string, number or boolean, or a list of them',
      },
    },
  },
} as const;

const CONDITION = {
  type: 'object',
  additionalProperties: false,
  properties: {
    claim: CLAIM_PATH,
    header: HEADER_NAME,
    sourceAddress: { const: true, hint: 'write `sourceAddress: true`, then one operator' },
    equals: SCALAR,
    in: { type: 'array', minItems: 1, items: SCALAR },
    matches: { type: 'string', minLength: 1 },
    present: { type: 'boolean' },
  },
} as const;

const DURATION = {
  type: 'string',
  pattern: '^[0-9]+(ms|s|m|h|d)$',
  hint: 'must be a duration such as "25s", "15m", "1h" or "1d"',
} as const;

const APPROVAL = {
  type: 'object',
  additionalProperties: false,
  required: ['approvers'],
  properties: {
    approvers: NON_EMPTY_STRINGS,
    quorum: {
      anyOf: [{ enum: ['any', 'every-group'] }, { type: 'integer', minimum: 1, maximum: 100 }],
      hint: 'must be "any", "every-group" or a number of distinct approvers',
    },
    grant: {
      anyOf: [{ const: 'request' }, DURATION],
      hint: 'must be "request" (this one request only) or a window such as "15m"',
    },
    hold: DURATION,
    pendingFor: DURATION,
  },
} as const;

const RULE = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'effect'],
  properties: {
    name: NAME,
    effect: { enum: EFFECTS },
    methods: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', pattern: '^([A-Za-z]+|\\*)$', hint: 'must be an HTTP method name or "*"' },
    },
    paths: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', maxLength: 2048, pattern: '^/', hint: 'must be a path glob starting with "/"' },
    },
    when: { type: 'array', minItems: 1, items: CONDITION },
    /** PostgreSQL targets: the statement classes or commands the rule covers. */
    statements: {
      type: 'array',
      minItems: 1,
      items: {
        anyOf: [{ enum: STATEMENT_CLASSES }, { type: 'string', maxLength: 64, pattern: '^[A-Z]+( [A-Z]+)*$' }],
        hint: `must be a statement class (${STATEMENT_CLASSES.join(', ')}) or an upper-case command such as TRUNCATE or "CREATE TABLE"`,
      },
    },
    /** PostgreSQL targets: table globs ("public.*", "orders"), matched against the names as written. */
    tables: NON_EMPTY_STRINGS,
    /** Redis targets: the commands the rule covers: upper-case names, classes, or "*" for any. */
    commands: {
      type: 'array',
      minItems: 1,
      items: {
        anyOf: [{ enum: [...REDIS_COMMAND_CLASSES, '*'] }, { type: 'string', maxLength: 64, pattern: '^[A-Z][A-Z0-9_]*$' }],
        hint: `must be a command class (${REDIS_COMMAND_CLASSES.join(', ')}), "*" or an upper-case command such as GET`,
      },
    },
    /** Redis targets: key globs ("jobs:*"); `*` also matches ":". An allow rule needs every key of the command to match. */
    keys: NON_EMPTY_STRINGS,
    approval: APPROVAL,
    /** Overrides the target's masking profile for exchanges this rule lets through. */
    masking: { ...NAME, hint: 'must name a masking profile from extProc.masking.profiles' },
  },
} as const;

/** Content guardrails: request content matching `pattern` (RE2) in the listed places is refused. */
const GUARDRAIL = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'targets', 'pattern'],
  properties: {
    name: NAME,
    description: { type: 'string' },
    targets: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    in: {
      type: 'array', minItems: 1, uniqueItems: true,
      items: { enum: ['path', 'query', 'headers', 'body'] },
      hint: 'must list where to look: path, query, headers, body',
    },
    pattern: { type: 'string', minLength: 1, maxLength: 4096 },
    ignoreCase: { type: 'boolean' },
  },
} as const;

const POLICY = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'targets', 'subjects', 'rules'],
  properties: {
    name: NAME,
    description: { type: 'string' },
    targets: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    subjects: { type: 'array', minItems: 1, items: SUBJECT },
    identityHeaders: {
      type: 'object',
      propertyNames: HEADER_NAME,
      additionalProperties: {
        type: 'string',
        pattern: '^(\\$(subject|issuer|groups)|[^$.][^.]*(\\.[^.]+)*)$',
        hint: 'must be $subject, $issuer, $groups or a claim name (dots reach nested claims)',
      },
    },
    /** PostgreSQL targets: which database users, on which databases, the subjects may log in as. */
    database: {
      type: 'object',
      additionalProperties: false,
      required: ['users', 'databases'],
      properties: {
        users: NON_EMPTY_STRINGS,
        databases: NON_EMPTY_STRINGS,
        /** Targets that mint a role per session (postgres.sessionRoles): the roles that role is granted. */
        grant: {
          type: 'array', uniqueItems: true,
          items: { type: 'string', pattern: '^[a-z_][a-z0-9_]{0,62}$', hint: 'must be a lower-case PostgreSQL role name (letters, digits, "_")' },
        },
      },
    },
    /** Redis targets: the subjects may log in (AUTH <token>); the login ends at the token's exp, or after maxSession. */
    redis: {
      type: 'object',
      additionalProperties: false,
      properties: { maxSession: DURATION },
    },
    rules: { type: 'array', minItems: 1, items: RULE },
  },
} as const;

export const POLICY_DOCUMENT_SCHEMA = {
  $id: 'https://sluice.dev/schemas/policy-document.json',
  type: 'object',
  additionalProperties: false,
  // Targets are declared once, by the operator, in sluice.yaml; a policy file only names them.
  moved: { targets: 'targets are declared in sluice.yaml (targets:), not in policy files; policies name them by name' },
  properties: {
    policies: { type: 'array', items: POLICY },
    guardrails: { type: 'array', items: GUARDRAIL },
  },
} as const;
