import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import { checkDocument } from './check-document.ts';
import type { RawDocument } from './raw.ts';
import type { PolicyIssue } from './types.ts';
import { validateDocument, type DocumentProblem } from './validate-document.ts';
import { yamlPosition, type Position } from '../../common/config/yaml-position.ts';

/** One schema-valid document, with a way back to its source for later (cross-file) issues. */
export interface ParsedPolicyDocument {
  readonly file: string;
  readonly value: RawDocument;
  /** Line and column of a JSON pointer inside this document (1-based). */
  position(pointer: string, atKey?: boolean): Position;
}

export interface ParsedPolicyFile {
  readonly file: string;
  /** Valid documents only; a document with any issue is left out. */
  readonly docs: ParsedPolicyDocument[];
  readonly issues: PolicyIssue[];
}

/**
 * Stage one of loading: YAML → plain data, checked against the schema and the per-document rules.
 * Never throws for bad input; every problem becomes an issue with file, line and column.
 */
export function parsePolicyFile(file: string, text: string): ParsedPolicyFile {
  const lineCounter = new LineCounter();
  // YAML 1.2 core schema: `yes`/`no`/`on` stay strings, so a typo cannot become a boolean.
  // Duplicate keys are errors; aliases are capped by toJS (billion-laughs protection).
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true, schema: 'core' });
  const issues: PolicyIssue[] = [];
  const docs: ParsedPolicyDocument[] = [];
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line: Math.max(line, 1), column: col };
  };

  if ('empty' in parsed) {
    for (const error of parsed.errors) issues.push({ file, ...at(error.pos[0]), path: '', message: error.message });
    return { file, docs, issues };
  }

  for (const doc of parsed) {
    if (doc.errors.length > 0) {
      // Schema errors on top of a syntax error are guesses; report the syntax error only.
      for (const error of doc.errors) issues.push({ file, ...at(error.pos[0]), path: '', message: error.message });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 50 });
    } catch (err) {
      issues.push({ file, ...at(doc.range[0]), path: '', message: err instanceof Error ? err.message : String(err) });
      continue;
    }
    // An empty document (only comments, or a stray `---`) is allowed and contributes nothing.
    if (value === null || value === undefined) continue;

    const position = (pointer: string, atKey = false) => yamlPosition(doc as Document, lineCounter, pointer, atKey);
    const toIssue = (problem: DocumentProblem): PolicyIssue => ({
      file,
      ...position(problem.path, problem.atKey),
      path: problem.path,
      message: problem.message,
    });

    const schemaProblems = validateDocument(value);
    if (schemaProblems.length > 0) {
      issues.push(...schemaProblems.map(toIssue));
      continue;
    }
    const raw = value as RawDocument;
    const semanticProblems = checkDocument(raw);
    if (semanticProblems.length > 0) {
      issues.push(...semanticProblems.map(toIssue));
      continue;
    }
    docs.push({ file, value: raw, position });
  }
  return { file, docs, issues };
}
