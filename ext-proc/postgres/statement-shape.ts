import { fingerprintSync, loadModule } from 'libpg-query';

let loaded = false;
let loading: Promise<void> | null = null;

/** Starts loading the parser (WASM) once; until it is in, shapes are unknown and every statement is asked about. */
export function loadStatementShapes(): void {
  loading ??= loadModule().then(() => { loaded = true; }, () => { /* no shapes: every statement is checked */ });
}

/**
 * The shape of a statement text: libpg_query's fingerprint of its parse tree, which keeps every
 * node and name (statement kinds, tables, functions, options) and drops constants. Two texts of
 * one shape differ only in their constants. null when the parser is not loaded yet or the text
 * does not parse (such a text is always checked).
 */
export function shapeOf(text: string): string | null {
  if (!loaded) return null;
  try {
    return fingerprintSync(text);
  } catch {
    return null;
  }
}

/** Resolves once the parser is loaded (or failed to load). */
export async function statementShapesReady(): Promise<void> {
  loadStatementShapes();
  await loading;
}
